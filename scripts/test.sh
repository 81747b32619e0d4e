#!/usr/bin/env bash
# Runs every Switchboard test: unit, virtual-time conversations, the RFC 4475/5118
# torture suite, real audio through cpal and a headless PulseAudio, and interop
# against real SIPp, baresip and kamailio on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
export SWITCHBOARD_TESTDATA="${SWITCHBOARD_TESTDATA:-$(pwd)/../shared/testdata}"
# A headless sound card (PulseAudio null sink) for the cpal tests; they must not skip.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
scripts/headless-audio.sh
export SWITCHBOARD_REQUIRE_AUDIO=1
# Interop tests start the real binaries; build them first.
cargo build --workspace --bins
cargo test --workspace -- --test-threads=2
