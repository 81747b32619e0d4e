#!/usr/bin/env bash
# Runs Switchboard with its embedded default: a user agent on 127.0.0.1:5060
# that needs no PBX. Call it from any SIP phone at sip:switchboard@127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
exec cargo run -q -p switchboard-cli -- --bind 127.0.0.1:5060 --user switchboard listen "$@"
