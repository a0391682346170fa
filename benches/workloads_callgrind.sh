#!/usr/bin/env bash
# Instructions per workload under callgrind, for before/after comparisons of hot-path
# changes (docs/BENCHMARKS.md). Usage: bash benches/workloads_callgrind.sh [EXAMPLES_DIR]
# (default target/release/examples; build first with
#  cargo build --release -p runtime-benches --example compare &&
#  cargo build --release -p runtime --example hackysack).
set -euo pipefail
D=${1:-target/release/examples}
cg() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : //p'; }
a=$(cg "$D/compare" --only spawn --peers ours --runs 1 --n 20000)
b=$(cg "$D/compare" --only spawn --peers ours --runs 1 --n 40000)
echo "spawn-join per task: $(( (b - a) / 20000 ))"
for w in yield wait gather queue pingpong; do
    echo "$w: $(cg "$D/compare" --only "$w" --peers ours --runs 1)"
done
h1=$(cg "$D/hackysack" 1000 10000)
h2=$(cg "$D/hackysack" 1000 100000)
echo "hackysack P=1000 per kick: $(( (h2 - h1) / 90000 ))"
