#!/usr/bin/env bash
# Make assets/fonts/NotoSansSC-PayDesk.otf: Noto Sans CJK SC Regular (SIL OFL 1.1, see OFL.txt), subset to
# the GB2312 repertoire, ASCII, Latin-1, CJK and full-width punctuation and the few symbols the UI uses.
#
# Needs: Debian's fonts-noto-cjk (apt-get install -y fonts-noto-cjk) and PyPI's fonttools (pip install fonttools).
# Usage: assets/fonts/make-subset.sh [path/to/NotoSansCJK-Regular.ttc]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
out="$here/NotoSansSC-PayDesk.otf"
chars="$(mktemp)"
trap 'rm -f "$chars"' EXIT

# Every character of GB2312: decode all valid two-byte codes (rows 0xA1-0xF7, cells 0xA1-0xFE).
python3 - "$chars" <<'PY'
import sys
chars = set()
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
# ASCII and Latin-1 (¥ × ·), general punctuation (— … ‘ ’ “ ”), arrows, geometric shapes (◀ ▶),
# CJK symbols and punctuation, full-width forms.
for lo, hi in [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2190, 0x21FF), (0x25A0, 0x25FF),
               (0x3000, 0x303F), (0xFF00, 0xFFEF)]:
    chars.update(chr(c) for c in range(lo, hi + 1))
chars.update("¥￥×—–·•✓⚠")
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("".join(sorted(chars)))
print(f"{len(chars)} characters", file=sys.stderr)
PY

# Face 2 of the Debian .ttc is Noto Sans CJK SC (0 JP, 1 KR, 2 SC, 3 TC, 4 HK).
pyftsubset "$src" --font-number=2 --text-file="$chars" --output-file="$out" \
  --layout-features='*' --no-hinting --desubroutinize --name-IDs='*' --name-languages='*' \
  --drop-tables+=DSIG,vhea,vmtx,VORG
ls -l "$out"
