#!/usr/bin/env bash
# Instructions per spawned-and-joined task, per peer, under callgrind (repeatable where
# wall time is noisy). Fixed costs cancel out: (I(2N) - I(N)) / N.
#
#   bash benches/callgrind.sh            # N = 100000
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
cargo build -q --release -p runtime-benches --example compare
bin=target/release/examples/compare
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --only spawn --peers "$1" --runs 1 --n "$2" 2>&1 \
        | awk '/Collected/ { print $4 }'
}
for peer in ours tokio smol; do
    a=$(count "$peer" "$N")
    b=$(count "$peer" $((2 * N)))
    echo "$peer: $(( (b - a) / N )) instructions per spawned-and-joined task"
done
