#!/usr/bin/env bash
# The runtime against the floor (../shared/floor: a deliberately minimal executor) on the
# same workloads, instructions per unit under callgrind, with the floor's method:
# (Ir(big) - Ir(small)) / (big - small), so start-up cancels out. Also the peak RSS of
# spawn-join with 1M tasks. Issue 15's goals are the ratios in the last column.
# Both sides are built with the floor's settings (thin LTO, one codegen unit: the
# workspace's `floor` profile mirrors ../shared/floor/Cargo.toml); PROFILE=release
# measures the runtime as the workspace's release profile builds it.
#
#   bash benches/floor_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
floor=../shared/floor
export CARGO_TARGET_DIR_FLOOR=${CARGO_TARGET_DIR_FLOOR:-/tmp/floor-target}
CARGO_TARGET_DIR=$CARGO_TARGET_DIR_FLOOR cargo build --release -q --manifest-path "$floor/Cargo.toml"
F=$CARGO_TARGET_DIR_FLOOR/release
profile=${PROFILE:-floor}
cargo build --profile "$profile" -q -p runtime-benches --example floor_workloads
cargo build --profile "$profile" -q -p runtime --example hackysack
R=target/$profile/examples
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/{print $NF}'; }
row() { # name ours floor goal
    awk -v n="$1" -v a="$2" -v b="$3" -v g="$4" 'BEGIN { printf "%-34s %8.1f %8.1f %7.3fx  (goal <= %s)\n", n, a, b, a / b, g }'
}
per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) / n }'; }
printf '%-34s %8s %8s %8s\n' workload runtime floor ratio
a=$(ir $R/floor_workloads spawnjoin 10000); b=$(ir $R/floor_workloads spawnjoin 100000)
fa=$(ir "$F/spawnjoin" limit 10000); fb=$(ir "$F/spawnjoin" limit 100000)
row "spawn-join, instructions per task" "$(per "$a" "$b" 90000)" "$(per "$fa" "$fb" 90000)" 1.2x
a=$(ir $R/floor_workloads yieldrr 1000 100); b=$(ir $R/floor_workloads yieldrr 1000 1000)
fa=$(ir "$F/yieldrr" limit 1000 100); fb=$(ir "$F/yieldrr" limit 1000 1000)
row "yield, instructions per yield" "$(per "$a" "$b" 900000)" "$(per "$fa" "$fb" 900000)" 1.2x
a=$(ir $R/hackysack 1000 10000); b=$(ir $R/hackysack 1000 100000)
fa=$(ir "$F/hackysack" limit 1000 10000); fb=$(ir "$F/hackysack" limit 1000 100000)
row "hackysack P=1000, per kick" "$(per "$a" "$b" 90000)" "$(per "$fa" "$fb" 90000)" 1.2x
ours=$($R/floor_workloads spawnjoin 1000000 | sed -n 's/.*rss_kb=//p')
theirs=$("$F/spawnjoin" limit 1000000 | sed -n 's/.*rss_kb=//p')
row "spawn-join 1M, peak RSS (KiB)" "$ours" "$theirs" 1.25x
