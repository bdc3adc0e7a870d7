#!/usr/bin/env bash
# Fuzz smoke test: replays the saved regressions, then runs every cargo-fuzz target of fuzz/
# for a short while on the committed seed corpus. Exits non-zero on a crash, a timeout, an
# out-of-memory or a build failure; exits 0 with a "skipped" line when no toolchain that can
# build fuzz targets is available.
#
#   scripts/fuzz-smoke.sh                 # every target, 30 s each
#   scripts/fuzz-smoke.sh -t 120 inflate  # one target, 2 minutes
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh
#
# Options: -t SECS (or FUZZ_SECONDS; default 30) seconds per target; --no-install (or
# FUZZ_INSTALL=0) skip instead of installing a missing cargo-fuzz; --require (or
# FUZZ_REQUIRE=1) fail instead of skipping when no suitable toolchain exists; then target
# names (default: all of `cargo fuzz list`).
#
# Toolchain: cargo-fuzz needs nightly rustc features (-Z sanitizer, sancov). The script uses
# `+nightly` when rustup has a nightly toolchain; otherwise it tries the stable toolchain with
# RUSTC_BOOTSTRAP=1 (which unlocks the same flags); if neither builds, it skips.
#
# cargo-fuzz: installed with `cargo install cargo-fuzz --locked` when missing (about 3 to 4
# minutes on 2 cores, once per machine), because a smoke test that silently skips on every
# fresh machine would never run. Building the five targets from scratch then takes about
# 6 minutes; each later run only rebuilds what changed.
#
# The grown corpus goes to a temporary directory (nothing is added to fuzz/corpus/); crash
# artifacts go to fuzz/artifacts/<target>/ (git-ignored) and are printed in hex on failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
INSTALL="${FUZZ_INSTALL:-1}"
REQUIRE="${FUZZ_REQUIRE:-0}"
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) SECONDS_PER_TARGET="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --require) REQUIRE=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    -*) echo "fuzz-smoke: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done

export HOME="${HOME:-/root}"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) PATH="$HOME/.cargo/bin:$PATH" ;; esac
export PATH
export CARGO_TERM_COLOR=never

skip() {
  echo "fuzz-smoke: skipped: $1"
  if [ "$REQUIRE" = 1 ]; then exit 1; fi
  exit 0
}

# ---- toolchain
TOOLCHAIN=()
if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  TOOLCHAIN=(+nightly)
  echo "fuzz-smoke: using the nightly toolchain ($(rustc +nightly --version))"
else
  export RUSTC_BOOTSTRAP=1
  echo "fuzz-smoke: no nightly toolchain; trying $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

# ---- cargo-fuzz
if ! cargo fuzz --version >/dev/null 2>&1; then
  if [ "$INSTALL" != 1 ]; then
    skip "cargo-fuzz is not installed (run: cargo install cargo-fuzz --locked)"
  fi
  echo "fuzz-smoke: installing cargo-fuzz (a few minutes, once per machine)"
  if ! cargo install cargo-fuzz --locked; then
    skip "cargo install cargo-fuzz failed"
  fi
fi
echo "fuzz-smoke: $(cargo fuzz --version)"

cd "$FUZZ_DIR"
if [ "${#TARGETS[@]}" -eq 0 ]; then
  mapfile -t TARGETS < <(cargo "${TOOLCHAIN[@]}" fuzz list)
fi
[ "${#TARGETS[@]}" -gt 0 ] || { echo "fuzz-smoke: no targets found"; exit 1; }

# ---- build (a toolchain that cannot build fuzz targets means skip, anything else fails)
BUILD_LOG="$(mktemp)"
build_ok=1
for t in "${TARGETS[@]}"; do
  echo "fuzz-smoke: building $t"
  cargo "${TOOLCHAIN[@]}" fuzz build "$t" >>"$BUILD_LOG" 2>&1 || { build_ok=0; break; }
done
if [ "$build_ok" = 0 ]; then
  tail -40 "$BUILD_LOG"
  if [ "${#TOOLCHAIN[@]}" -eq 0 ] \
     && grep -qE "only accepted on the nightly|requires a nightly|unstable" "$BUILD_LOG"; then
    rm -f "$BUILD_LOG"
    skip "the stable toolchain cannot build fuzz targets and no nightly is installed"
  fi
  rm -f "$BUILD_LOG"
  echo "fuzz-smoke: 0 passed, ${#TARGETS[@]} failed"
  exit 1
fi
rm -f "$BUILD_LOG"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
failed_names=()
for t in "${TARGETS[@]}"; do
  echo
  echo "== $t: ${SECONDS_PER_TARGET}s"
  log="$WORK/$t.log"
  mkdir -p "$WORK/corpus/$t" "$FUZZ_DIR/corpus/$t"
  ok=1
  # Saved regressions first: each must pass (libFuzzer runs every file once with -runs=0).
  if [ -d "$FUZZ_DIR/regressions/$t" ] && [ -n "$(ls -A "$FUZZ_DIR/regressions/$t")" ]; then
    if ! cargo "${TOOLCHAIN[@]}" fuzz run "$t" "$FUZZ_DIR/regressions/$t" -- \
        -runs=0 -rss_limit_mb=2048 -timeout=10 >"$log.regressions" 2>&1; then
      echo "fuzz-smoke: $t: a saved regression fails again:"
      grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log.regressions" | head -20
      ok=0
    fi
  fi
  if [ "$ok" = 1 ]; then
    cargo "${TOOLCHAIN[@]}" fuzz run "$t" "$WORK/corpus/$t" "$FUZZ_DIR/corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1
    rc=$?
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)" "$log" | sed 's/^/   /'
    if [ "$rc" -ne 0 ]; then
      ok=0
      echo "fuzz-smoke: $t FAILED (exit $rc):"
      grep -E -A15 "panicked at|ERROR: libFuzzer" "$log" | head -40
      artifact="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')"
      if [ -n "$artifact" ] && [ -f "$artifact" ]; then
        echo "artifact: $artifact ($(wc -c <"$artifact") bytes)"
        od -An -tx1 -v "$artifact" | head -40
        echo "reproduce: cd fuzz && cargo +nightly fuzz run $t $artifact"
      fi
    fi
  fi
  if [ "$ok" = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$t")
  fi
done

echo
[ "$failed" -eq 0 ] || echo "fuzz-smoke: failing targets: ${failed_names[*]}"
echo "fuzz-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
