#!/usr/bin/env bash
# Take the README's screenshots from the real binary under Xvfb and measure it (memory, CPU, first frame).
#
# Needs: apt-get install -y xvfb xdotool imagemagick zbar-tools zenity libgl1-mesa-dri; a built binary.
# Usage: docs/screenshots.sh [path/to/paydesk]   (default target/release/paydesk)
# The clicks use the positions of the 1280x800 layout; if the layout changes, check the PNGs.
set -u
BIN="${1:-target/release/paydesk}"
DOCS="$(cd "$(dirname "$0")" && pwd)"
D="$(mktemp -d)"
export DISPLAY="${DISPLAY:-:99}"
if ! xdpyinfo >/dev/null 2>&1; then
  Xvfb "$DISPLAY" -screen 0 1280x800x24 >/dev/null 2>&1 &
  XVFB=$!
  sleep 1
fi
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
cpu30() {
  local a b; a=$(ticks "$1"); sleep 30; b=$(ticks "$1")
  echo "$2: $((b - a)) ticks of 1/$(getconf CLK_TCK) s in 30 s = $(python3 -c "print(round(($b-$a)/$(getconf CLK_TCK)/30*100, 2))") % of one core"
}

t0=$(date +%s%N)
PAYDESK_DATA_DIR=$D/data PAYDESK_CONFIG=$D/none.toml RUST_LOG=warn,paydesk=info "$BIN" >"$D/log" 2>&1 &
PID=$!
until xdotool search --onlyvisible --name PayDesk >/dev/null 2>&1; do sleep 0.01; done
echo "window mapped after $((($(date +%s%N) - t0) / 1000000)) ms"
sleep 3
grep "first frame" "$D/log"
echo "RSS, idle sale screen: $(ps -o rss= -p $PID) kB"
xdotool windowfocus --sync "$(xdotool search --name PayDesk | head -1)"
xdotool mousemove 640 400
sleep 0.5
line() { # name price qty
  xdotool type --delay 150 "$1"; sleep 0.3; xdotool key Return; sleep 0.3
  xdotool type --delay 100 "$2"; xdotool key Return; sleep 0.3
  xdotool key BackSpace; xdotool type "$3"; xdotool key Return; sleep 0.5
}
line 红烧牛肉面 18.80 2
line 冰红茶 3.5 1
line 茶叶蛋 1.50 3
# A price that is not exact: refused, with the reason beside the field.
xdotool type --delay 150 "矿泉水"; sleep 0.3; xdotool key Return; sleep 0.3
xdotool type --delay 100 "2.005"; xdotool key Return; sleep 0.8
import -window root "$DOCS/screen-sale.png"
xdotool key ctrl+a BackSpace; sleep 0.2; xdotool key shift+Tab; sleep 0.2; xdotool key ctrl+a BackSpace; sleep 0.3

xdotool key F12; sleep 2.5
import -window root "$DOCS/screen-payment.png"
echo "QR decodes to: $(zbarimg -q --raw "$DOCS/screen-payment.png" 2>/dev/null)"
echo "order code_url: $(python3 -c "import sqlite3; print(sqlite3.connect('$D/data/ledger.sqlite3').execute('select code_url from orders order by created_at desc limit 1').fetchone()[0])")"
echo "RSS, payment screen: $(ps -o rss= -p $PID) kB"
cpu30 $PID "CPU, payment screen"

xdotool mousemove 798 642 click 1; sleep 1.2     # 模拟：支付成功
import -window root "$DOCS/screen-paid.png"
sleep 7                                          # back to a new sale by itself
xdotool mousemove 640 400
cpu30 $PID "CPU, idle sale screen"

xdotool mousemove 368 65 click 1; sleep 1        # 历史订单
xdotool mousemove 55 298 click 1; sleep 1        # the order
import -window root "$DOCS/screen-history.png"

xdotool mousemove 629 152 click 1; sleep 1       # 导出这一天…
xdotool mousemove 138 256 click 1; sleep 4       # 选择文件并导出… (zenity opens)
xdotool mousemove 500 400
for w in $(xdotool search --name zenity); do   # the dialog, not zenity's 10x10 helper windows
  if [ "$(xdotool getwindowgeometry "$w" | awk '/Geometry/ {split($2, g, "x"); print g[1]}')" -gt 100 ]; then
    xdotool windowfocus --sync "$w"
  fi
done
xdotool key ctrl+a; xdotool type --delay 30 "$D/paydesk-export.csv"; xdotool key Return; sleep 2
import -window root "$DOCS/screen-export.png"
echo "exported: $(wc -l <"$D/paydesk-export.csv") lines in $D/paydesk-export.csv"

kill $PID
[ -n "${XVFB:-}" ] && kill "$XVFB"
