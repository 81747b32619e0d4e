#!/usr/bin/env bash
# Makes docs/screenshots/busy-lamps.png and team-board.png under Xvfb:
# - busy lamps: kamailio with its presence modules (tests/peers/kamailio-presence.cfg),
#   colleague "bob" a headless agent answering after 3 s, the desk watching him
#   (a quick-connect and a directory entry with blf = true), a caller ringing bob;
# - the supervisor's board: PostgreSQL of ../shared/recipes/postgres.sh, a
#   supervisor's desk, four agents and today's calls written into the team
#   database as their desks would.
# Called by scripts/screenshots.sh; alone: scripts/screenshots-team.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
mkdir -p "$out"
cargo build -q -p switchboard -p switchboard-cli
bin=target/debug
tmp=$(mktemp -d /tmp/sb-shots-team.XXXXXX)
chmod 755 "$tmp"
pids=()
pg_pid=""
cleanup() {
  # The last started first: callers and desks hang up before the PBX goes.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  [ -n "$pg_pid" ] && kill -INT "$pg_pid" 2>/dev/null || true
  sleep 1
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
recipes=${SWITCHBOARD_RECIPES:-../shared/recipes}
display=:61
Xvfb $display -screen 0 1280x720x24 >"$tmp/xvfb.log" 2>&1 & pids+=($!)
sleep 1
export DISPLAY=$display

window() { # the desk's window, focused
  local w=""
  for _ in $(seq 50); do
    w=$(xdotool search --onlyvisible --pid "${pids[-1]}" 2>/dev/null | head -1) && [ -n "$w" ] && break
    sleep 0.2
  done
  xdotool windowfocus --sync "$w"
}
click() { xdotool mousemove "$1" "$2" click 1; sleep 0.5; }
shot() { sleep "${2:-1}"; xdotool mousemove 640 600; import -window root "$out/$1.png"; }

# --- Busy lamps ----------------------------------------------------------
kport=25390
mkdir -p "$tmp/db"
cp /usr/share/kamailio/dbtext/kamailio/{version,pua} "$tmp/db/"
sed -e "s/127.0.0.1:PORT/127.0.0.1:$kport/g" -e "s#DBDIR#$tmp/db#" \
  tests/peers/kamailio-presence.cfg >"$tmp/kamailio.cfg"
kamailio -f "$tmp/kamailio.cfg" -DD -E -m 32 -M 8 -Y "$tmp" >"$tmp/kamailio.log" 2>&1 & pids+=($!)
sleep 1
SWITCHBOARD_PASSWORD=secret $bin/switchboard-cli --bind 127.0.0.1:0 \
  --registrar sip:127.0.0.1:$kport --username bob listen --answer-after 3000 \
  >"$tmp/bob.log" 2>&1 & pids+=($!)
cat >"$tmp/directory.toml" <<'TOML'
[[person]]
name = "Bob Tamm"
extension = "bob"
department = "Sales"
blf = true

[[person]]
name = "Kaarel Männik"
extension = "301"
department = "IT"
TOML
cat >"$tmp/lamps.toml" <<TOML
[sip]
user = "anna"

[account]
registrar = "sip:127.0.0.1:$kport"
username = "anna"

[[desk.quick_connect]]
label = "Bob"
uri = "bob"
blf = true

[[desk.quick_connect]]
label = "Billing"
uri = "300"

[directory]
file = "$tmp/directory.toml"
TOML
HOME=$tmp SWITCHBOARD_PASSWORD=secret $bin/switchboard --config "$tmp/lamps.toml" \
  --data-dir "$tmp/lamps" --bind 127.0.0.1:25391 >"$tmp/lamps.log" 2>&1 & pids+=($!)
window
sleep 4
click 1221 37                          # the Directory tab
SWITCHBOARD_PASSWORD=secret $bin/switchboard-cli --bind 127.0.0.1:0 \
  --registrar sip:127.0.0.1:$kport --username carol call sip:bob@127.0.0.1:$kport \
  >"$tmp/carol.log" 2>&1 & pids+=($!)
shot busy-lamps 5                      # bob answered: red in both places

# --- The supervisor's board ----------------------------------------------
pgport=25432
pg_pid=$(sh "$recipes/postgres.sh" "$tmp/pg" $pgport | tail -1)
cat >"$tmp/board.toml" <<TOML
[sip]
user = "sille"

[team]
database = "postgres://app@127.0.0.1:$pgport/app"
role = "supervisor"
listen = "*222{ext}"
whisper = "*223{ext}"
barge = "*224{ext}"
TOML
HOME=$tmp SWITCHBOARD_TEAM_PASSWORD=app-secret $bin/switchboard --config "$tmp/board.toml" \
  --data-dir "$tmp/board" --bind 127.0.0.1:25491 >"$tmp/board.log" 2>&1 & pids+=($!)
window
sleep 4                                # the desk has made the tables
now=$(date +%s%3N)
start=$((now - 3600 * 1000))           # an hour ago: today
psql_app() { (cd "$tmp/pg" && runuser -u postgres -- psql -X -q -h "$tmp/pg" -p $pgport -U postgres -d app -c "$1"); }
psql_app "INSERT INTO agent_states (agent, state, since_ms, updated_ms, extension, reason, call_number, call_name, help_since_ms) VALUES
 ('anna', 'in_call', $((now - 250000)), $now, '204', NULL, '+3725551234', 'Mari Maasikas', $((now - 61000))),
 ('boris', 'in_call', $((now - 116000)), $now, '205', NULL, '+37255559876', NULL, NULL),
 ('jüri', 'break', $((now - 621000)), $now, '206', 'Lunch', NULL, NULL, NULL),
 ('ирина', 'available', $((now - 51000)), $now, '207', NULL, NULL, NULL, NULL)"
psql_app "INSERT INTO interactions (key, kind, agent, number, direction, outcome, started_ms, answered_ms, ended_ms, updated_ms)
 SELECT 'call:shot-' || g, 'call', (ARRAY['anna', 'boris', 'jüri', 'ирина'])[1 + g % 4], '+372555' || g, 'in',
        CASE WHEN g % 7 = 0 THEN 'missed' ELSE 'answered' END, $start + g * 1000,
        CASE WHEN g % 7 = 0 THEN NULL ELSE $start + g * 1000 + 3000 END,
        $start + g * 1000 + 150000 + g * 900, $now
 FROM generate_series(1, 60) AS g"
click 1068 60                          # the Team tab
click 300 12                           # Available
shot team-board 7                      # the next read of the board
