#!/usr/bin/env bash
# The test suite under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, doctests
# included, on the nightly toolchain with a sanitized std (-Zbuild-std).
#
#   bash scripts/sanitizers.sh            # both
#   bash scripts/sanitizers.sh address    # one of: address, thread
#
# Tests that need a child process of a different kind, or that count on exact memory
# figures run too, except that the RSS figures are not asserted (RUNTIME_SANITIZER is set:
# ASan keeps freed memory in quarantine). The sanitizers only add checks. Each sanitizer builds into its own
# target directory (target/sanitizer-<name>).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(rustc -vV | sed -n 's/host: //p')
rustup component add --toolchain nightly rust-src >/dev/null
which=("$@")
((${#which[@]})) || which=(address thread)
for san in "${which[@]}"; do
    printf '\n== %s sanitizer (at %d s of this script)\n' "$san" "$SECONDS"
    flags="-Zsanitizer=$san"
    export RUSTFLAGS="$flags" RUSTDOCFLAGS="$flags" RUNTIME_SANITIZER=$san
    export CARGO_TARGET_DIR="$PWD/target/sanitizer-$san"
    case $san in
        address) export ASAN_OPTIONS="detect_leaks=1" LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp" ;;
        thread) export TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/scripts/tsan.supp" ;;
    esac
    # The library's unit tests, the behaviour tests and the doctests.
    skip=()
    # TSan defers a signal handler while its thread is blocked in epoll_wait, so the
    # Ctrl-C child-process tests (which wait for the handler) cannot run under it.
    # TSan defers signal delivery: the Ctrl-C and dump-on-signal child tests (which run
    # in the plain `cargo test` step) are left out of its run.
    [[ $san == thread ]] && skip=(--skip ctrl_c --skip a_signal_prints_a_task_dump)
    cargo +nightly test -q --no-fail-fast -Zbuild-std --target "$target" -p runtime -- --test-threads=2 "${skip[@]}"
done
printf '\nsanitizers done (at %d s of this script)\n' "$SECONDS"
