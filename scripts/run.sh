#!/usr/bin/env bash
# Runs the Switchboard desktop with its embedded default: no PBX needed. The
# desk listens on 127.0.0.1:5060 as sip:agent@127.0.0.1, and a practice line
# inside the app rings it with simulated callers (name, queue, IVR data).
# Pass other flags after the script, e.g. --bind 127.0.0.1:5070.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
exec cargo run -q --release -p switchboard -- --demo "$@"
