#!/usr/bin/env bash
# Instructions per HTTP request for each Rust hello-world server of http_bench, counted
# by callgrind (deterministic, unlike wall-clock CPU time): the server runs under
# callgrind, wrk drives it for a few seconds, and the server's total instruction count
# (user space: runtime + handler + libc syscall wrappers) is divided by the requests.
#
#   bash benches/http_callgrind.sh [kind...]     # default: mio runtime runtime-streams tokio smol
#   PROFILE=floor bash benches/http_callgrind.sh mio runtime   # the floor's build settings
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null && command -v wrk >/dev/null || {
    echo "needs valgrind and wrk"; exit 0; }
profile=${PROFILE:-release}
cargo build -q --profile "$profile" -p runtime-benches --example http_bench
kinds=("$@"); ((${#kinds[@]})) || kinds=(mio runtime runtime-streams tokio smol)
port=18180
for kind in "${kinds[@]}"; do
    port=$((port + 1))
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "target/$profile/examples/http_bench" --serve "$kind" "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    reqs=$(wrk -t1 -c50 -d4s "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    total=$(awk '/^summary:|^totals:/ {print $2}' "$out" | head -1)
    printf '%-16s %8d requests  %6d instructions/request\n' "$kind" "$reqs" $((total / reqs))
    rm -f "$out"
done
