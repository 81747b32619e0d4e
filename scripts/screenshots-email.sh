#!/usr/bin/env bash
# Makes docs/screenshots/email-*.png: the desktop's e-mail channel under
# Xvfb with a real Dovecot and SMTP sink (../shared/recipes/mail.sh), the
# practice line ringing beside it. Clicks go where the English layout puts
# things on a 1280×720 screen. Called by scripts/screenshots.sh; alone:
# scripts/screenshots-email.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
cargo build -q -p switchboard
bin=target/debug
tmp=$(mktemp -d /tmp/sb-shots-mail.XXXXXX)
chmod 755 "$tmp"
pids=()
mail_pids=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # shellcheck disable=SC2086
  [ -n "$mail_pids" ] && kill $mail_pids 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
scripts/headless-audio.sh
recipes=${SWITCHBOARD_RECIPES:-../shared/recipes}
imap=11143 imaps=11993 smtp=12525
mail_pids=$(IMAP_PORT=$imap IMAPS_PORT=$imaps SMTP_PORT=$smtp sh "$recipes/mail.sh" "$tmp/mail")

# Two more customers write: a Russian HTML mail, and an invoice with a PDF.
/usr/bin/python3 - "$imap" <<'PY'
import imaplib, sys
from email.message import EmailMessage
from email.policy import SMTP
def msg(frm, subj, date, mid, body=None, html=None, attach=None):
    m = EmailMessage(policy=SMTP)
    m["From"], m["To"], m["Subject"], m["Date"] = frm, "Klienditugi <agent@example.test>", subj, date
    m["Message-ID"] = mid
    if html:
        m.set_content(html, subtype="html", charset="utf-8")
    else:
        m.set_content(body, charset="utf-8", cte="8bit")
    if attach:
        m.add_attachment(attach[1], maintype="application", subtype="pdf", filename=attach[0])
    return m.as_bytes()
mails = [
    msg("Mari Maasikas <mari@example.test>", "Arve on topelt", "Tue, 14 Nov 2023 09:00:00 +0200",
        "<arve-2024-017@example.test>",
        body="Tere!\n\nArve number 2024-017 tuli kaks korda ja summa võeti kontolt mõlemal korral "
             "maha. Palun kontrollige ja tagastage üleliigne makse.\n\nMari",
        attach=("arve-2024-017.pdf", b"%PDF-1.4\n" + b"x" * 20000)),
    msg("Ivan Petrov <ivan@example.test>", "Не работает вход в личный кабинет",
        "Wed, 15 Nov 2023 11:30:00 +0200", "<login-ivan@example.test>",
        html="<p>Здравствуйте!</p><p>Не могу войти в <b>личный кабинет</b>: пишет "
             "<i>неверный пароль</i>.</p><img src='http://tracker.example/x.png'>"),
]
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login("agent@example.test", "agent-secret")
for m in mails:
    c.append("INBOX", None, None, m)
c.logout()
PY

cat > "$tmp/config.toml" <<TOML
[desk]
wrap_up_secs = 120

[desk.mail]
host = "127.0.0.1"
port = $imaps
user = "agent@example.test"
ca_file = "$tmp/mail/tls/ca.pem"
address = "agent@example.test"
name = "Klienditugi"
forward_to = ["arved@example.test", "ladu@example.test"]

[desk.smtp]
host = "127.0.0.1"
port = $smtp
tls = "none"
from = "Klienditugi <agent@example.test>"
TOML

display=:76
Xvfb "$display" -screen 0 1280x720x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 & pids+=($!)
export DISPLAY=$display
up=""
for _ in $(seq 200); do xdpyinfo >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ -n "$up" ] || { echo "Xvfb did not start on $display" >&2; cat "$tmp/xvfb.log" >&2; exit 1; }
SWITCHBOARD_MAIL_PASSWORD=agent-secret HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data \
  $bin/switchboard --demo --config "$tmp/config.toml" --data-dir "$tmp/data" \
  --bind 127.0.0.1:5192 >"$tmp/desk.log" 2>&1 & pids+=($!)
win=""
for _ in $(seq 100); do
  win=$(xdotool search --name '^Switchboard$' 2>/dev/null | head -1) && [ -n "$win" ] && break
  sleep 0.1
done
[ -n "$win" ] || { echo "no window" >&2; cat "$tmp/desk.log" >&2; exit 1; }
xdotool windowsize "$win" 1280 720 windowmove "$win" 0 0
focus() { xdotool windowfocus --sync "$win"; }
shot() { sleep "${2:-1}"; import -window root "$out/$1.png"; echo "$out/$1.png"; }
click() { focus; xdotool mousemove "$1" "$2" click 1; }
type_text() { focus; xdotool type --delay 40 "$1"; }
mkdir -p "$out"

shot email-queue 4                 # the first practice caller rings beside three e-mails
click 90 124; sleep 1.5            # the oldest e-mail (Jüri's order): taken, in the centre
click 723 431; type_text "4711"    # Order / ticket no.
click 413 431; shot email-templates 0.8   # the templates, the customer's language among them
click 366 600; sleep 0.5           # "Teie tellimus (et)"
click 453 591; sleep 0.4; click 386 499   # disposition: Order
click 613 621; type_text "Courier late; promised tomorrow."
shot email-reply 1
click 525 50; shot email-parked 2.5       # the call answered: the reply waits, "back after the call"
click 288 137; sleep 1.5; click 307 269   # hung up, wrap-up saved
shot email-back 1.5                # the reply is back with what was typed
click 298 612; sleep 3             # sent
