#!/usr/bin/env bash
# Runs every Switchboard test: unit, virtual-time conversations, the RFC 4475/5118
# torture suite, real audio through cpal and a headless PulseAudio, and interop
# against real SIPp, baresip and kamailio on loopback. Nothing may skip: the
# shared test data and the sound card are required. Afterwards no process the
# tests started may be alive, and their temporary files are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

# The shared test data, complete and unaltered: $SWITCHBOARD_TESTDATA, else
# ../shared/testdata beside this checkout, else beside the repository it was
# cloned from (a clean clone elsewhere).
if [ -z "${SWITCHBOARD_TESTDATA:-}" ]; then
  SWITCHBOARD_TESTDATA="$(pwd)/../shared/testdata"
  origin=$(git remote get-url origin 2>/dev/null || true)
  if [ ! -d "$SWITCHBOARD_TESTDATA" ] && [ -d "$origin" ] && [ -d "$origin/../shared/testdata" ]; then
    SWITCHBOARD_TESTDATA=$(cd "$origin/../shared/testdata" && pwd)
  fi
fi
export SWITCHBOARD_TESTDATA
export SWITCHBOARD_REQUIRE_TESTDATA=1
for sums in "$SWITCHBOARD_TESTDATA"/sip-torture/SHA256SUMS "$SWITCHBOARD_TESTDATA"/sdp-rfc4317/SHA256SUMS; do
  [ -f "$sums" ] || { echo "test.sh: $sums missing: the shared test data is absent or incomplete (set SWITCHBOARD_TESTDATA)" >&2; exit 1; }
  (cd "$(dirname "$sums")" && sha256sum --quiet -c SHA256SUMS) || { echo "test.sh: files under $(dirname "$sums") differ from SHA256SUMS" >&2; exit 1; }
done

# Every process the tests start inherits this mark; `leftovers` looks for it.
export SWITCHBOARD_TEST_RUN="$(date +%s)-$$"
# Temporary files of this run in one folder, removed when the run passes.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-test.XXXXXX")
export TMPDIR="$run_tmp"

# A headless sound card (PulseAudio null sink) for the cpal tests; they must not skip.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
pulse_was_up=0
pactl info >/dev/null 2>&1 && pulse_was_up=1
scripts/headless-audio.sh
export SWITCHBOARD_REQUIRE_AUDIO=1

# Interop tests start the real binaries; build them first.
cargo build --workspace --bins
status=0
cargo test --workspace -- --test-threads=2 || status=$?

# The sound server this script started goes with it.
if [ "$pulse_was_up" = 0 ]; then
  pulseaudio -k 2>/dev/null || true
  for _ in $(seq 50); do pulseaudio --check 2>/dev/null || break; sleep 0.1; done
fi
cargo run -q -p switchboard-interop --bin leftovers || status=1
if [ "$status" = 0 ]; then
  rm -rf "$run_tmp"
else
  echo "test.sh: failed; the tests' files are kept in $run_tmp" >&2
fi
exit "$status"
