"""``benchmarks.kernel_profile``: compiled code named for perf, and samples added up by kernel.

The profile itself needs Linux ``perf``; what it rests on does not, and is checked here: the map
names each function of a kernel compiled in the process by the kernel, at the address numba
calls, and a report's samples count to the kernel their function belongs to.
"""

from __future__ import annotations

import numpy as np
from benchmarks.kernel_profile import MAX_SIZE, CodeMap, kernel_shares, perf_map_lines
from numba import njit


def test_each_function_spans_to_the_next_one() -> None:
    lines = perf_map_lines({0x3000: "b|g", 0x1000: "a|f", 0x3000 + MAX_SIZE + 5: "c|h"})
    assert lines == [
        "1000 2000 a|f",
        f"3000 {MAX_SIZE:x} b|g",  # the gap to the next one is longer than the cap
        f"{0x3000 + MAX_SIZE + 5:x} 10000 c|h",  # the last one: 64 KiB
    ]


def test_a_kernel_compiled_in_the_process_is_named_at_its_address() -> None:
    code_map = CodeMap()
    code_map.install(write_at_exit=False)
    try:

        @njit
        def profiled_sum_of_squares(a):
            total = 0.0
            for x in a:
                total += x * x
            return total

        assert profiled_sum_of_squares(np.arange(4.0)) == 14.0
    finally:
        code_map.uninstall()
    functions = code_map.functions()
    library = next(iter(profiled_sum_of_squares.overloads.values())).library
    named = {address: name for address, name in functions.items() if "squares" in name}
    assert named, "the kernel's functions are in the map"
    assert all(name.startswith(f"{library.name}|") for name in named.values())
    entry = next(iter(profiled_sum_of_squares.overloads.values())).fndesc.mangled_name
    assert library.get_pointer_to_function(entry) in named


def test_samples_count_to_the_kernel_of_their_function() -> None:
    report = "\n".join(
        [
            "# Overhead  Symbol",
            "    12.50%  [.] _recompute|_ZN13_3cdynamic_3e36__numba_parfor_gufunc_0x1",
            "     2.50%  [.] _recompute|_ZN6scslab10population10attributes14community_ties",
            "     5.00%  [.] _PyEval_EvalFrameDefault",
            "     1.25%  [.] records_of|_ZN6scslab6engine11table_order5_move",
            "",
        ]
    )
    shares, compiled = kernel_shares(report)
    assert shares == {"_recompute": 15.0, "records_of": 1.25}
    assert compiled == 16.25
