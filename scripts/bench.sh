#!/usr/bin/env bash
# Call quality and cost on loopback: Switchboard (and with --peers, baresip and PJSIP)
# through an impairment relay. Prints a table; see docs/performance.md.
# Usage: scripts/bench.sh [--peers] [--secs N] [--codecs pcmu,opus] [--nets clean,loss,bursts,jitter] [--seeds N]  |  --load (SIPp load)  |  --flood (OPTIONS flood)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench
python3 -c "import pesq, numpy, pjsua2" 2>/dev/null || python3 -m pip install -q pesq numpy pjsua2-python \
  || python3 -m pip install -q --break-system-packages pesq numpy pjsua2-python
# The agent as deployed: the dist profile (Cargo.toml).
cargo build --profile dist -p switchboard-cli -p switchboard-interop --bin switchboard-cli --bin bench
exec target/dist/bench "$@"
