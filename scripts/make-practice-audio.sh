#!/usr/bin/env bash
# Generates the practice line's caller speech (what each caller of
# assets/practice/scenarios.toml says: their answers to the script's questions) (assets/practice/*.wav) with
# espeak-ng, each caller in their own language, as 8 kHz mono 16-bit WAV (telephone band, like a real caller).
# The files are committed; run this again after changing a text.
# Needs: espeak-ng sox (scripts/install-deps.sh bench installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/practice
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # file voice text
    espeak-ng -v "$2" -s 150 -w "$tmp/$1.wav" "$3"
    # Half a second of quiet first: the operator says hello, then the caller talks.
    sox -D "$tmp/$1.wav" -r 8000 -c 1 -b 16 "$out/$1.wav" pad 0.5 0.5 norm -3
}

say mari et "Tere! Mina olen Mari Maasikas. Mul on küsimus viimase arve kohta, summa on kaks korda maha võetud. Minu kliendinumber on sada miljonit kakssada tuhat kolmsada."
say ivan ru "Здравствуйте! Меня зовут Иван Петров. Я заказал посылку, номер А сорок семь одиннадцать, но она до сих пор не пришла. Подскажите, пожалуйста, где она?"
say ana sl "Dober dan, tukaj Ana Novak. Ne morem se povezati v VPN. Internet doma deluje, spletne strani se odprejo."
say john en-gb "Hello, this is John Smith. I would like to order two large packs, delivered on the fifteenth of December, to ten Downing Street, London. Yes, that is all correct."
say olga ru "Помогите! Моей маме вдруг стало плохо, она упала. Адрес: улица Пикк, дом один, Таллин. Она не отвечает, без сознания, но дышит."
# Colleagues the operator can transfer practice callers to.
say billing en-gb "Billing department, Kadri speaking. Yes, put the customer through, I will take it from here."
say supervisor en-gb "Supervisor, Marko here. Go ahead, I am listening."
ls -l "$out"
