#!/usr/bin/env bash
# Builds the benchmark package and runs the whole comparison matrix (see BENCHMARKS.md):
# ws-framework's engine, tokio-tungstenite and fastwebsockets as echo servers pinned to core 0,
# the load generator pinned to core 1, 3 repetitions with the server order rotated, medians.
#
# usage: scripts/bench.sh [matrix options]      e.g. --quick, --reps 5, --only text64x100,bin1mx1
#        scripts/bench.sh --help                all options; --list shows the scenarios
# The markdown table goes to stdout (progress to stderr); every run's JSON to target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p ws-bench --bins >&2
exec target/release/matrix "$@"
