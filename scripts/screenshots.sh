#!/usr/bin/env bash
# Makes docs/screenshots/*.png: the desktop in its practice mode under Xvfb,
# driven with xdotool the way an operator works (keys and clicks on a
# 1280×720 screen), captured with ImageMagick's import. Clicks go to where
# the English layout puts the buttons; xdotool's synthetic Ctrl chords do
# not always reach winit, so buttons are clicked instead of Ctrl+S.
# Usage: scripts/screenshots.sh [OUT_DIR]   (default docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
scripts/install-deps.sh test
cargo build -q -p switchboard -p switchboard-cli
bin=target/debug
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
scripts/headless-audio.sh
display=:77
Xvfb "$display" -screen 0 1280x720x24 -nolisten tcp >/dev/null 2>&1 & pids+=($!)
export DISPLAY=$display
up=""
for _ in $(seq 200); do xdpyinfo >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ -n "$up" ] || { echo "Xvfb did not start on $display" >&2; exit 1; }

# A company directory and a configuration that uses it.
cat > "$tmp/directory.toml" <<'TOML'
[[department]]
name = "Arveldus / Billing"
extension = "201"
note = "E–R 8–17"

[[person]]
name = "Jüri Õunapuu"
extension = "1201"
title = "Klienditeeninduse juht"
department = "Klienditeenindus"
mobile = "+372 5550 1201"

[[person]]
name = "Ирина Смирнова"
extension = "1202"
title = "Бухгалтер"
department = "Бухгалтерия"

[[person]]
name = "Žiga Čebular"
extension = "1203"
title = "Serviser"
department = "Podpora"
note = "Na dopustu do 12. 12."
TOML
cat > "$tmp/config.toml" <<TOML
[directory]
file = "$tmp/directory.toml"

[desk]
wrap_up_secs = 120
TOML
# Waits for the desk's window (its log on failure), 1280×720 at the corner.
window() {
  win=""
  for _ in $(seq 100); do
    win=$(xdotool search --name '^Switchboard$' 2>/dev/null | head -1) && [ -n "$win" ] && break
    sleep 0.1
  done
  [ -n "$win" ] || { echo "no window" >&2; cat "$1" >&2; exit 1; }
  xdotool windowsize "$win" 1280 720 windowmove "$win" 0 0
}
# A shop that rings and rings (for the outgoing call while it rings).
$bin/switchboard-cli --bind 127.0.0.1:5195 --user shop listen >/dev/null 2>&1 & pids+=($!)
HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data \
  $bin/switchboard --demo --config "$tmp/config.toml" --data-dir "$tmp/data" \
  --bind 127.0.0.1:5190 >"$tmp/desk.log" 2>&1 & pids+=($!)
window "$tmp/desk.log"
focus() { xdotool windowfocus --sync "$win"; }
shot() { sleep "${2:-1}"; import -window root "$out/$1.png"; echo "$out/$1.png"; }
key() { focus; xdotool key "$@"; }
click() { focus; xdotool mousemove "$1" "$2" click 1; }
type_text() { focus; xdotool type --delay 60 "$1"; }
mkdir -p "$out"
# (each shot overwrites its file; screenshots made by hand, such as
# registration-retry.png, stay)

shot ringing 4                        # the first practice caller rings
key F3; shot in-call 4                # answered: the call in hand, its script beside it
key Return; sleep 0.5; key 2          # the greeting read; "Billing" by its number
shot script 1                         # the script's end: put through to Billing
click 1083 37; click 1080 92          # the Knowledge tab, its search field
type_text "charged twice"; key Return; sleep 0.5; key Down
shot knowledge 1                      # the article, its second paragraph chosen
key Insert; sleep 0.3                 # into the note
click 1155 37; click 955 92; sleep 0.5; click 937 142   # the Form tab: an order
click 1126 170; type_text "Pikk 1, Tallinn"
click 977 286; type_text "Large pack"; click 1085 286; type_text 2
click 1152 286; type_text "24,50"
shot form 1                           # the order, with its total
click 1010 37                         # back to the Script tab
key F8; type_text 201; sleep 0.5      # transfer field: Billing's extension
click 603 198; shot consult 3          # Consult: Billing answers, the caller waits
click 416 287; shot conference 2       # all three talk
click 307 269; sleep 2                 # leave them talking: put through
type_text " Asked for a copy of the November invoice; put through to Billing."; sleep 0.5
shot wrap-up 1                         # the wrap-up, with the transfer chain and the script's outcome
click 308 323; shot score 1            # saved: the practice call's score
click 268 253; shot idle 1             # closed: ready for the next call
type_text "sip:shop@127.0.0.1:5195"; key Return
shot outgoing 2                        # our call rings at the shop
key F4; sleep 1                        # cancelled
click 1222 37; sleep 0.5               # the Directory tab
click 1130 92; type_text "juri"; shot directory 1
click 933 60; shot history 1           # the History tab: the order sent, its number
click 856 12; shot settings 1          # Settings
kill "${pids[-1]}"; sleep 2            # the desk closes (hangs up, unregisters)

# The same desk in Slovenian, a caller ringing.
printf '\n[desk]\nlanguage = "sl"\n' > "$tmp/config-sl.toml"
HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data \
  $bin/switchboard --demo --config "$tmp/config-sl.toml" --data-dir "$tmp/data-sl" \
  --bind 127.0.0.1:5191 >"$tmp/desk-sl.log" 2>&1 & pids+=($!)
window "$tmp/desk-sl.log"
shot incoming-slovenian 4

# The e-mail channel, with its own mail server.
scripts/screenshots-email.sh "$out"

# Busy lamps (kamailio presence) and the supervisor's board (PostgreSQL).
scripts/screenshots-team.sh "$out"
