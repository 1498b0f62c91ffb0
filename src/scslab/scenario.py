"""Scenarios: TOML files validated against typed models that the mechanisms declare.

A scenario file has three kinds of tables::

    [scenario]            # name, description, people, days, seed, start_date, burn_in_days
    [population]          # see scslab.population.PopulationParams
    [mechanisms.NAME]     # one table per mechanism; NAME is a registered mechanism

Every error (missing file, not TOML, unknown key, wrong type, value out of range, unknown
mechanism) is raised as ``ScenarioError`` with one line naming the file, the key path and what is
allowed. Presets are scenario files shipped in ``scslab/data/presets``.

Owns the ``[scenario]`` model (``ScenarioMeta``), reading and validating files and overrides,
the one-line errors and the schema that ``scslab schema`` prints. It builds no population and
runs nothing; it imports the mechanisms only to validate against their parameter models.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
import types
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from scslab.engine.burn_in import MAX_DAYS as BURN_IN_MAX_DAYS
from scslab.engine.mechanism import FAMILIES, REGISTRY, MechanismParams
from scslab.errors import ScenarioError
from scslab.input_files import InputTooLargeError, read_input_text, without_bom
from scslab.mechanisms import PLUGIN_FAILURES  # importing it registers every mechanism
from scslab.parameter_tables import ParameterTable
from scslab.population import PopulationParams

MAX_PEOPLE = 2**31 - 1
MAX_REAL_PEOPLE = 10_000_000_000
"""The most real people a scenario may stand for (``people * scale``): more than the world's
8.2 billion (UN, 2024), so that a scale typed with too many zeros is refused, not reported as
tens of billions listed."""
MAX_DAYS = BURN_IN_MAX_DAYS
"""Days are stored as uint16 in per-person state; 60,000 days (164 years) leaves headroom. A run
and its burn-in share them (``engine/burn_in.py``)."""

MAX_SEED = 2**63 - 1
"""The largest seed: random streams take it as a signed 64-bit integer."""


class ScenarioMeta(ParameterTable):
    """The ``[scenario]`` table."""

    CHANGE_HINT: ClassVar[str] = (
        "make a changed copy of the scenario with sc.with_overrides({name}=...)"
    )

    name: str = Field(min_length=1, description="Short name of the scenario.")
    description: str = Field(default="", description="One line saying what it models.")

    @field_validator("name", "description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        """A name or description is one line of text.

        A line break split the summary's first line, and a run folder's name is made from the
        scenario's.
        """
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("one line of text, without a line break, tab or control character")
        return value

    people: int = Field(
        default=100_000,
        ge=1,
        le=MAX_PEOPLE,
        description="Simulated people (default: an assumption, a size that runs in seconds; "
        "scale it by scale, or set the census population of data/SOURCES.md).",
    )
    days: int = Field(
        default=365, ge=1, le=MAX_DAYS, description="Simulated days (default: a year, assumption)."
    )
    seed: int = Field(
        default=1,
        ge=0,
        le=MAX_SEED,
        description="Seed of every random stream (default 1: arbitrary, an assumption).",
    )
    scale: int = Field(
        default=1,
        ge=1,
        le=10**9,
        description="Real people each simulated person stands for; counts in metrics.parquet are "
        "multiplied by it (real-population units; default 1: each stands for one, an "
        "assumption).",
    )
    start_date: dt.date = Field(default=dt.date(2014, 1, 1), description="Calendar date of day 0.")
    burn_in_days: int = Field(
        default=0,
        ge=0,
        le=MAX_DAYS,
        description="Days of history before start_date that every score starts from (a "
        "burn-in; engine/burn_in.py): the mechanisms that make scores (behaviour, surveillance, "
        "observation, reporting, adversary and scoring) run these days first, on the same "
        "people with daily draws of their own and without metrics, and each score carries "
        "over its state; lists, "
        "sanctions, responses and metrics start on start_date. Default 0, an assumption: "
        "scores start fresh on start_date, as a programme launched that day.",
    )

    @model_validator(mode="after")
    def _a_real_population(self) -> ScenarioMeta:
        if self.people * self.scale > MAX_REAL_PEOPLE:
            raise ValueError(
                f"people x scale is {self.people * self.scale:,} real people, more than the "
                f"{MAX_REAL_PEOPLE:,} of this check (the world holds about 8.2 billion); lower "
                "scale"
            )
        return self

    @model_validator(mode="after")
    def _burn_in_fits(self) -> ScenarioMeta:
        if self.days + self.burn_in_days > MAX_DAYS:
            raise ValueError(
                f"days + burn_in_days must be at most {MAX_DAYS:,} "
                f"(got {self.days:,} + {self.burn_in_days:,})"
            )
        # a burn-in runs on a calendar of MAX_DAYS days that ends the day before start_date
        first = dt.date.min + dt.timedelta(days=MAX_DAYS if self.burn_in_days else 0)
        last = dt.date.max - dt.timedelta(days=self.days - 1)
        if not first <= self.start_date <= last:
            raise ValueError(
                f"start_date {self.start_date.isoformat()}: the run's days (and a burn-in's "
                f"calendar) must fall within 0001-01-01..9999-12-31, so start_date must lie in "
                f"{first.isoformat()}..{last.isoformat()} for these days and burn_in_days"
            )
        return self


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: metadata, population and mechanism parameters in file order."""

    meta: ScenarioMeta
    population: PopulationParams
    mechanisms: dict[str, MechanismParams]
    source: str = "<api>"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Own everything it holds, so that changing a copy never changes the original.

        Copies (``with_overrides``...) shared the mechanisms' dict and their lists with the
        original: deleting a mechanism from a copy, or appending an act to a copy's list, changed
        the original too.
        """
        own = {k: v.model_copy(deep=True) for k, v in self.mechanisms.items()}
        object.__setattr__(self, "mechanisms", own)
        object.__setattr__(self, "population", self.population.model_copy(deep=True))
        object.__setattr__(self, "raw", copy.deepcopy(self.raw))

    def with_overrides(self, **meta: Any) -> Scenario:
        """A copy with ``[scenario]`` fields replaced (``people``, ``days``, ``seed``...)."""
        values = {k: v for k, v in meta.items() if v is not None}
        if not values:
            return self
        data = self.meta.model_dump() | values
        try:
            new_meta = ScenarioMeta.model_validate(data)
        except ValidationError as err:
            raise ScenarioError(
                _format_error(self.source, err, ("scenario",), ScenarioMeta)
            ) from None
        _refuse_lax_conversions(self.source, ("scenario",), values, new_meta)
        return Scenario(new_meta, self.population, self.mechanisms, self.source, self.raw)

    def with_mechanism(self, name: str, **params: Any) -> Scenario:
        """A copy with one mechanism's parameters changed (validated), or with one added.

        ``name`` not in the scenario adds that mechanism (a registered name, or any name with
        ``type``). A ``type`` other than the mechanism's present one replaces it: its parameters
        start from the new type's defaults, not from the old mechanism's.
        """
        base = self.mechanisms[name].model_dump() if name in self.mechanisms else {}
        if base.get("type") is None:
            base.pop("type", None)
        if "type" in params and base and (params["type"] or name) != (base.get("type") or name):
            base = {}  # another kind of mechanism under this name: none of the old parameters
        new = dict(self.mechanisms)
        new[name] = _validate_mechanism(self.source, name, base | params)
        return Scenario(self.meta, self.population, new, self.source, self.raw)

    def without_mechanism(self, name: str) -> Scenario:
        """A copy with the mechanism ``name`` switched off (removed from the plan).

        The other mechanisms' parameters drop what only follows it (``MechanismParams.without``:
        a backlash programme loses it as a member); a mechanism that needs it (a sanction reading
        its list) is refused when the copy is set up, naming it.

        Raises:
            TypeError: ``name`` is not a string (switch several off one call at a time).
            ScenarioError: ``name`` is not one of this scenario's mechanisms (the message lists
                them).
        """
        if not isinstance(name, str):
            raise TypeError(f"without_mechanism: one mechanism's name, a string (got {name!r})")
        if name not in self.mechanisms:
            raise ScenarioError(
                f"{self.source}: mechanisms.{name}: not in this scenario; it has "
                + ", ".join(self.mechanisms)
            )
        new = {k: v.without(name) for k, v in self.mechanisms.items() if k != name}
        return Scenario(self.meta, self.population, new, self.source, self.raw)

    def resolved(self) -> dict[str, Any]:
        """The full scenario with every default filled in, as plain data (for manifests)."""
        return {
            "scenario": self.meta.model_dump(mode="json"),
            "population": self.population.model_dump(mode="json"),
            "mechanisms": {k: v.model_dump(mode="json") for k, v in self.mechanisms.items()},
        }


def presets_dir() -> resources.abc.Traversable:
    """The folder of presets shipped with the package."""
    return resources.files("scslab.data").joinpath("presets")


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.name[:-5] for p in presets_dir().iterdir() if p.name.endswith(".toml"))


def load_scenario(spec: str | Path) -> Scenario:
    """Load a preset by name or a scenario file by path.

    A bare preset name is the preset, whatever the current folder holds (``./NAME`` is the file
    or folder of that name).

    Raises:
        ScenarioError: With a one-line message naming the file, key path and allowed values.
        TypeError: ``spec`` is neither a name nor a path.
    """
    if not isinstance(spec, str | Path):
        raise TypeError(
            f"load_scenario takes a preset name or a scenario file's path, not "
            f"{type(spec).__name__} (a scenario as a dict: scslab.scenario_from_dict)"
        )
    spec_str = str(spec)
    if isinstance(spec, str) and spec_str in preset_names():
        text = presets_dir().joinpath(f"{spec_str}.toml").read_text()
        return parse_scenario(text, f"{spec_str} (preset)")
    if not spec_str.strip():
        raise ScenarioError(
            f"no scenario named: give a preset ({', '.join(preset_names())}) or a .toml file"
        )
    path = Path(spec_str).expanduser()  # "~/x.toml" in Python: the shell expands it elsewhere
    if not path.exists():
        raise ScenarioError(
            f"{spec_str}: no such file; a preset is named by a string, load_scenario("
            f"{spec_str!r}), not a Path"
            if not isinstance(spec, str) and spec_str in preset_names()
            else f"{spec_str}: no such file or preset; presets: {', '.join(preset_names())}"
        )
    if path.is_dir():
        raise ScenarioError(f"{spec_str}: is a folder; give a .toml scenario file or a preset name")
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        raise ScenarioError(f"{spec_str}: scenario files are TOML (.toml), not {path.suffix}")
    try:
        text = read_input_text(path, "scenario file")
    except InputTooLargeError as err:
        raise ScenarioError(str(err)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{spec_str}: cannot be read as UTF-8 text ({err})") from None
    return parse_scenario(text, spec_str)


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text (``source`` names it in errors).

    Raises:
        TypeError: ``text`` is not a string (bytes are decoded as UTF-8 first).
        ScenarioError: the text is not valid TOML, or not a valid scenario (one line).
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ScenarioError(f"{source}: not UTF-8 text: {err}") from None
    if isinstance(text, str):
        text = without_bom(text)
    if not isinstance(text, str):
        raise TypeError(
            f"parse_scenario takes the TOML text as a string, not {type(text).__name__}; "
            "scslab.load_scenario(name or path) reads a file"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{source}: not valid TOML: {err}") from None
    return scenario_from_dict(data, source)


def scenario_from_dict(data: dict[str, Any], source: str = "<api>") -> Scenario:
    """Validate a scenario given as nested dictionaries (the parsed TOML)."""
    allowed_top = ("scenario", "population", "mechanisms")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ScenarioError(f"{source}: a scenario is a table of tables, not a {kind}")
    for key in data:
        if key not in allowed_top:
            raise ScenarioError(
                f"{source}: {key}: unknown table; allowed: {', '.join(allowed_top)}"
            )
    if "scenario" not in data:
        raise ScenarioError(f'{source}: scenario: missing table; it needs at least name = "..."')
    meta = _validate(source, ("scenario",), ScenarioMeta, data["scenario"])
    population = _validate(source, ("population",), PopulationParams, data.get("population", {}))
    mech_data = data.get("mechanisms", {})
    if not isinstance(mech_data, dict):
        raise ScenarioError(f"{source}: mechanisms: must be a table of mechanism tables")
    for name in mech_data:
        if not isinstance(name, str):
            raise ScenarioError(
                f"{source}: mechanisms: a mechanism's table is named by a string, not {name!r}"
            )
    mechanisms = {name: _validate_mechanism(source, name, v) for name, v in mech_data.items()}
    return Scenario(meta, population, mechanisms, source, data)


def declared_type(table: Any) -> Any:
    """The ``type`` a scenario's mechanism table gives, if any (else its name is its type)."""
    return table.get("type") if isinstance(table, dict) else None


def _validate_mechanism(source: str, name: str, value: Any) -> MechanismParams:
    allowed = ", ".join(sorted(REGISTRY))
    kind = declared_type(value)
    if kind is not None:
        if not isinstance(kind, str) or kind not in REGISTRY:
            where = f"{source}: mechanisms.{name}.type"
            raise ScenarioError(f"{where}: unknown mechanism type {kind!r}; allowed: {allowed}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):  # it names metric columns and files
            raise ScenarioError(
                f"{source}: mechanisms.{name!r}: a mechanism's name goes into its metric "
                "columns: lower case letters, digits and underscores, a letter first"
            )
    elif name not in REGISTRY:
        raise ScenarioError(
            f"{source}: mechanisms.{name}: unknown mechanism; allowed: {allowed} "
            "(or give type = one of them; a mechanism of your own module is imported first in "
            "Python, or named by its package under the entry-point group 'scslab.mechanisms' "
            "for the scslab command)" + "".join(f"; {why}" for why in PLUGIN_FAILURES.values())
        )
    return _validate(source, ("mechanisms", name), REGISTRY[kind or name].Params, value)


def _validate(source: str, prefix: tuple[str, ...], model: type[BaseModel], value: Any) -> Any:
    if not isinstance(value, dict):
        raise ScenarioError(f"{source}: {'.'.join(prefix)}: must be a table")
    try:
        validated = model.model_validate(value)
    except ValidationError as err:
        raise ScenarioError(_format_error(source, err, prefix, model)) from None
    _refuse_lax_conversions(source, prefix, value, validated)
    return validated


def plain_bool(value: Any) -> Any:
    """A numpy boolean (what a pandas ``.any()`` returns) as Python's ``bool``; else ``value``."""
    kind = type(value)
    return bool(value) if kind.__name__ == "bool" and kind.__module__ == "numpy" else value


def _refuse_lax_conversions(source: str, path: tuple[Any, ...], raw: Any, value: Any) -> None:
    """Refuse what pydantic's lax mode would take for another type.

    Pydantic's lax mode reads ``cure_share = true`` as 1.0, ``people = "2000"`` as 2000,
    ``clean_record = 1`` as true, ``people = 1000.0`` as 1000 and ``start_date = 0`` as
    1970-01-01 (Unix seconds). This walks the input beside what it validated to: a boolean in
    the input must still be a boolean after validation, and a boolean after validation must
    have been one in the input; a number after validation must have been one (sweep files,
    which are strict, already refuse a string), and a whole number must have been written
    without a decimal point (as sweep files require); a date must not have been a number.
    """
    where = ".".join(str(p) for p in path)
    raw = plain_bool(raw)
    if isinstance(raw, str) and isinstance(value, int | float) and not isinstance(value, bool):
        raise ScenarioError(f"{source}: {where}: must be a number, not a string (got {raw!r})")
    if isinstance(raw, float) and isinstance(value, int) and not isinstance(value, bool):
        raise ScenarioError(
            f"{source}: {where}: must be a whole number, without a decimal point (got {raw!r})"
        )
    if isinstance(raw, int | float) and not isinstance(raw, bool) and isinstance(value, dt.date):
        raise ScenarioError(
            f"{source}: {where}: must be a date such as 2014-01-01, not a number (got {raw!r})"
        )
    if isinstance(raw, bool):
        if not isinstance(value, bool):
            raise ScenarioError(
                f"{source}: {where}: must be a number, not a boolean (got {str(raw).lower()})"
            )
        return
    if isinstance(value, bool):  # 1, "yes", "true" taken as a boolean
        raise ScenarioError(f"{source}: {where}: must be true or false (got {raw!r})")
    if isinstance(raw, dict):
        for key, item in raw.items():
            if isinstance(value, BaseModel):
                if key in type(value).model_fields:
                    _refuse_lax_conversions(source, (*path, key), item, getattr(value, key))
            elif isinstance(value, dict) and key in value:
                _refuse_lax_conversions(source, (*path, key), item, value[key])
    elif isinstance(raw, list) and isinstance(value, list | tuple) and len(raw) == len(value):
        for i, (item, validated) in enumerate(zip(raw, value, strict=True)):
            _refuse_lax_conversions(source, (*path, i), item, validated)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (for listing allowed keys).

    ``loc`` steps through a model's fields, a dict's keys (``extra_sources.tax``) and a list's
    items (``grades.0``), through optional and annotated types.
    """
    current: Any = model
    for part in loc:
        current = _inner(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        else:
            return None
    current = _inner(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner(annotation: Any) -> Any:
    """An annotation without ``Annotated`` and without ``None`` in a union."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        if len(kept) == 1:
            return _inner(kept[0])
    return annotation


def _format_error(
    source: str, err: ValidationError, prefix: tuple[str, ...], model: type[BaseModel]
) -> str:
    errors = err.errors()
    # a misspelled key comes first: it also makes the key it stands for look "missing"
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = tuple(e["loc"])
    path = ".".join(str(p) for p in (*prefix, *loc) if p != "[key]")  # pydantic's, for a dict key
    if e["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else "see `scslab schema`"
        return f"{source}: {path}: unknown key; allowed: {allowed}"
    if e["type"] == "missing":
        return f"{source}: {path}: missing required key"
    msg = e["msg"]
    if e["type"].startswith(("date_", "datetime_")):  # pydantic's words for a date it cannot read
        msg = "must be a date such as 2014-01-01"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    got = e.get("input")
    if isinstance(got, dict):  # a rule across keys: the message names them and their values
        return f"{source}: {path}: {msg}"
    return f"{source}: {path}: {msg} (got {got!r})"


def scenario_schema() -> dict[str, Any]:
    """The JSON schema of scenario files, generated from the same models that validate them."""
    mech_fields: dict[str, Any] = {
        name: (cls.Params | None, Field(default=None, description=cls.description))
        for name, cls in sorted(
            REGISTRY.items(), key=lambda kv: (FAMILIES.index(kv[1].family), kv[0])
        )
    }
    # other table names are further instances of a type (``type = "..."``)
    mechanisms = create_model("Mechanisms", __config__=ConfigDict(extra="allow"), **mech_fields)
    root = create_model(
        "ScenarioFile",
        __config__=ConfigDict(extra="forbid"),
        scenario=(ScenarioMeta, ...),
        population=(PopulationParams, Field(default_factory=PopulationParams)),
        mechanisms=(mechanisms, Field(default_factory=mechanisms)),
    )
    schema = root.model_json_schema()
    schema["title"] = "scslab scenario"
    return schema
