#!/usr/bin/env bash
# Runs every Switchboard test: unit, virtual-time conversations, the RFC 4475/5118
# torture suite, and interop against real SIPp, baresip and kamailio on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
export SWITCHBOARD_TESTDATA="${SWITCHBOARD_TESTDATA:-$(pwd)/../shared/testdata}"
# Interop tests start the real binaries; build them first.
cargo build --workspace --bins
cargo test --workspace -- --test-threads=2
