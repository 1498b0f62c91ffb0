#!/bin/bash
# Peak resident memory of integrated_2020 without checkpoints, with them, and of a resume after a
# SIGKILL (docs/checkpoints.md). Usage: P=50000000 D=40 E=10 benchmarks/checkpoint_memory.sh
# (people, days, days between checkpoints); run folders under ${R:-/tmp/checkpoint-memory-$P}.
set -u
S=${SCSLAB:-scslab}
P=${P:-2000000}; D=${D:-60}; E=${E:-20}
R=${R:-/tmp/checkpoint-memory-$P}; rm -rf "$R"; mkdir -p "$R"
export NUMBA_NUM_THREADS=1
$S run integrated_2020 --people $P --days $D --out $R/plain --quiet > $R/plain.log 2>&1
$S run integrated_2020 --people $P --days $D --checkpoint-every $E --out $R/ck --quiet \
    > $R/ck.log 2>&1
$S run integrated_2020 --people $P --days $D --checkpoint-every $E --out $R/killed --quiet \
    > $R/killed.log 2>&1 &
PID=$!
while [ ! -e $R/killed/checkpoint.scslab ] && kill -0 $PID 2>/dev/null; do sleep 0.01; done
ls -l $R/killed/checkpoint.scslab
kill -KILL $PID; wait $PID
$S resume $R/killed --quiet > $R/resume.log 2>&1
for d in plain ck killed; do python3 -c "
import json; m = json.load(open('$R/$d/manifest.json'))
print('$d', m['status'], 'peak_rss_MiB', round(m['peak_rss_bytes'] / 2**20, 1),
      'run_s', m['timings']['run_s'], 'resumed_from_days', m.get('resumed_from_days'))"; done
cmp $R/plain/metrics.parquet $R/ck/metrics.parquet \
    && cmp $R/plain/metrics.parquet $R/killed/metrics.parquet && echo "metrics.parquet identical"
