#!/usr/bin/env bash
# Starts a PulseAudio daemon with a null sink whose monitor is the default
# source, and points ALSA's default device at it, so cpal tests can play and
# record back with no sound card. Idempotent: does nothing if one answers.
# Source it (it exports XDG_RUNTIME_DIR) or run it before the tests.
set -euo pipefail
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/switchboard-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! pactl info >/dev/null 2>&1; then
  [ -f "$HOME/.asoundrc" ] || printf 'pcm.!default { type pulse }\nctl.!default { type pulse }\n' > "$HOME/.asoundrc"
  pulseaudio -n --daemonize=yes --exit-idle-time=-1 --disallow-exit=yes --disable-shm=yes \
    --log-target=file:"$XDG_RUNTIME_DIR/pulse.log" \
    -L "module-native-protocol-unix auth-anonymous=1" \
    -L "module-null-sink sink_name=switchboard_null rate=48000 channels=2" \
    -L "module-always-sink"
  for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl set-default-sink switchboard_null
pactl set-default-source switchboard_null.monitor
