#!/usr/bin/env bash
# Offline concealment study: espeak-ng speech in two voices, a loss pattern over
# several seeds, each decoded by `loss_sim` and scored with PESQ (P.862 narrowband
# for 8 kHz codecs, P.862.2 wideband otherwise). Prints median and range per voice.
# Usage: scripts/loss-sim.sh CODEC LOSS [fec]   e.g. pcmu r3 · pcmu b10 · opus b10 fec
# Seeds: SEEDS="1 2 3 4 5 6 7 8" (default). Work files under ${LOSS_DIR:-/tmp/switchboard-loss}.
set -euo pipefail
cd "$(dirname "$0")/.."
codec=$1 loss=$2 fec=${3:-}
dir=${LOSS_DIR:-/tmp/switchboard-loss}
mkdir -p "$dir"
case $codec in pcmu|pcma) rate=8000 ;; g722) rate=16000 ;; *) rate=48000 ;; esac
cargo build -q --release -p switchboard-codec --example loss_sim
sim=target/release/examples/loss_sim
text="The caller reports that the order from last Tuesday has not arrived. She asks whether the parcel can be sent again, to the office address. Please confirm the ticket number, and the preferred delivery time. Thank you for calling, an agent will follow up by email today."
for voice in en-us en+f3; do
  ref="$dir/ref-$voice-$rate.wav"
  if [ ! -s "$ref" ]; then
    espeak-ng -v "$voice" -s 150 -w "$dir/raw-$voice.wav" "$text"
    sox "$dir/raw-$voice.wav" -r "$rate" -c 1 -b 16 "$ref" pad 0.5 0.5
  fi
  for seed in ${SEEDS:-1 2 3 4 5 6 7 8}; do
    LOSS_SEED=$seed "$sim" "$codec" "$ref" "$dir/out-$voice-$seed.wav" "$loss" $fec 2>/dev/null
  done
done
python3 - "$dir" "$rate" ${SEEDS:-1 2 3 4 5 6 7 8} <<'PY'
import sys, wave, statistics
import numpy as np
from pesq import pesq
d, rate, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def rd(p, to):
    w = wave.open(p); x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32)
    r = w.getframerate()
    if r != to:  # 48 kHz Opus output scored at 16 kHz
        x = x[:len(x) // (r // to) * (r // to)].reshape(-1, r // to).mean(axis=1)
    return x
to = 8000 if rate == 8000 else 16000
mode = 'nb' if to == 8000 else 'wb'
allv = []
for v in ['en-us', 'en+f3']:
    ref = rd(f'{d}/ref-{v}-{rate}.wav', to)
    s = []
    for seed in seeds:
        deg = rd(f'{d}/out-{v}-{seed}.wav', to)
        n = min(len(ref), len(deg))
        s.append(pesq(to, ref[:n], deg[:n], mode))
    allv += s
    print(f'{v:6} median {statistics.median(s):.3f}  range {min(s):.2f}-{max(s):.2f}')
print(f'all    median {statistics.median(allv):.3f}  mean {statistics.mean(allv):.3f}')
PY
