#!/usr/bin/env bash
# Take the sign-in and handover (交班) screenshots from the real binary under Xvfb: two cashiers, 小李 with a
# PIN (2468), one sale paid in the sandbox, then 交班.
#
# Needs: Xvfb, openbox, xdotool, imagemagick; a built binary.
# Usage: docs/shift-screenshots.sh [path/to/paydesk]   (default target/debug/paydesk)
# The clicks use the positions of the 1280x800 layout; if the layout changes, check the PNGs.
set -eu
BIN="${1:-target/debug/paydesk}"
DOCS="$(cd "$(dirname "$0")" && pwd)"
D="$(mktemp -d)"
export DISPLAY="${DISPLAY:-:96}"
if ! xdpyinfo >/dev/null 2>&1; then
  Xvfb "$DISPLAY" -screen 0 1280x800x24 >/dev/null 2>&1 &
  XVFB=$!
  sleep 1
  openbox >/dev/null 2>&1 &
  WM=$!
  sleep 1
fi
export PAYDESK_CONFIG=$D/paydesk.toml PAYDESK_DATA_DIR=$D/data
cat >"$PAYDESK_CONFIG" <<'TOML'
[store]
name = "小张南山店"
station = "POS1"
cashiers = ["小王", "小李"]
TOML
chmod 600 "$PAYDESK_CONFIG"
PAYDESK_CASHIER_PIN=2468 "$BIN" config set-cashier-pin 小李

"$BIN" >"$D/log" 2>&1 &
PID=$!
until xdotool search --onlyvisible --name PayDesk >/dev/null 2>&1; do sleep 0.1; done
sleep 3
xdotool windowfocus --sync "$(xdotool search --onlyvisible --name PayDesk | head -1)"
import -window root "$DOCS/screen-sign-in.png"
xdotool mousemove 640 325 click 1; sleep 1       # 小李（需密码）
xdotool type --delay 100 1111; xdotool key Return; sleep 2
import -window root "$DOCS/screen-sign-in-pin.png"
xdotool type --delay 100 2468; xdotool key Return; sleep 2
line() { # name price qty
  xdotool type --delay 150 "$1"; sleep 0.3; xdotool key Return; sleep 0.3
  xdotool type --delay 100 "$2"; xdotool key Return; sleep 0.3
  xdotool key BackSpace; xdotool type "$3"; xdotool key Return; sleep 0.5
}
xdotool mousemove 640 400
line 红烧牛肉面 18.80 2
line 冰红茶 3.5 1
xdotool key F12; sleep 3
xdotool mousemove 738 85 click 1; sleep 1        # 交班 while the QR is up: refused
import -window root "$DOCS/screen-handover-refused.png"
xdotool mousemove 53 170 click 1; sleep 1        # 知道了
xdotool mousemove 800 661 click 1; sleep 3       # 模拟：支付成功
xdotool key Return; sleep 1
xdotool mousemove 738 85 click 1; sleep 2        # 交班
xdotool mousemove 1000 600; sleep 0.5
import -window root "$DOCS/screen-handover.png"
kill $PID
[ -n "${WM:-}" ] && kill "$WM"
[ -n "${XVFB:-}" ] && kill "$XVFB"
rm -rf "$D"
