#!/usr/bin/env bash
# The counter's screenshots and figures, from the real binary under Xvfb (1920x1080) with openbox as the
# window manager (full screen needs one, as on a real desktop): the full-screen payment screen (its QR
# decoded with zbarimg and measured), the customer display through a whole sale (idle, sale, payment,
# paid), memory with and without the customer display, CPU on the payment screen with both counting down.
#
# Needs: apt-get install -y xvfb openbox imagemagick xdotool zbar-tools wmctrl curl; a release build.
# Usage: docs/counter-screenshots.sh [path/to/paydesk]   (default target/release/paydesk)
# Xvfb has one monitor, so in part 2 the customer display is put on monitor 0 and kept above the cashier
# window (wmctrl: "above"; openbox keeps a focused full-screen window above everything, so there the cashier
# window opens normal, 1280x800); keys still go to the cashier window, which keeps the focus.
set -u
BIN="${1:-target/release/paydesk}"
DOCS="$(cd "$(dirname "$0")" && pwd)"
D="$(mktemp -d)"
export DISPLAY=:97
Xvfb "$DISPLAY" -screen 0 1920x1080x24 >/dev/null 2>&1 &
XVFB=$!
sleep 1
openbox >/dev/null 2>&1 &
WM=$!
sleep 1

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
cpu30() {
  local a b; a=$(ticks "$1"); sleep 30; b=$(ticks "$1")
  echo "$2: $((b - a)) ticks of 1/$(getconf CLK_TCK) s in 30 s = $(python3 -c "print(round(($b-$a)/$(getconf CLK_TCK)/30*100, 2))") % of one core"
}
line() { # name price qty
  xdotool type --delay 120 "$1"; sleep 0.3; xdotool key Return; sleep 0.3
  xdotool type --delay 100 "$2"; xdotool key Return; sleep 0.3
  xdotool key BackSpace; xdotool type "$3"; xdotool key Return; sleep 0.5
}
newest_order() {
  python3 -c "import sqlite3; print(sqlite3.connect('$1/ledger.sqlite3').execute('select out_trade_no from orders order by created_at desc limit 1').fetchone()[0])"
}
# The side of the white square (QR with its quiet zone) left of x=990 (the order panel's white button text
# starts right of it), in pixels.
qr_side() {
  convert "$1" -crop 990x1080+0+0 +repage -fill black +opaque white -trim -format '%wx%h' info:
}
start() { # config-file data-dir
  # A fresh window-settings store (eframe keeps it under XDG_DATA_HOME), as on a new counter PC.
  XDG_DATA_HOME=$2.xdg PAYDESK_DATA_DIR=$2 PAYDESK_CONFIG=$1 RUST_LOG=warn,paydesk=info "$BIN" >"$2.log" 2>&1 &
  PID=$!
  until xdotool search --onlyvisible --name "PayDesk" >/dev/null 2>&1; do sleep 0.05; done
  sleep 3
  MAIN=$(xdotool search --onlyvisible --name "PayDesk" | head -1)
}

# ---- 1. the cashier window alone, full screen ----
cat >"$D/alone.toml" <<EOF
[store]
name = "张记便利店"
station = "POS1"
[window]
start = "fullscreen"
[sandbox]
listen = "127.0.0.1:7971"
EOF
start "$D/alone.toml" "$D/alone"
echo "cashier window: $(xdotool getwindowgeometry "$MAIN" | tr '\n' ' ')"
echo "RSS, idle sale screen, no customer display: $(ps -o rss= -p $PID) kB"
xdotool windowfocus --sync "$MAIN"
line 红烧牛肉面 18.80 2
line 冰红茶 3.5 1
xdotool key F12; sleep 3
import -window root "$DOCS/screen-fullscreen-payment.png"
echo "QR decodes to: $(zbarimg -q --raw "$DOCS/screen-fullscreen-payment.png" 2>/dev/null)"
echo "QR with quiet zone: $(qr_side "$DOCS/screen-fullscreen-payment.png") px of a 1080 px high screen"
echo "RSS, payment screen, no customer display: $(ps -o rss= -p $PID) kB"
cpu30 $PID "CPU, payment screen, no customer display"
echo "RSS, payment screen after those 30 s of countdown, no customer display: $(ps -o rss= -p $PID) kB"
kill $PID; wait $PID 2>/dev/null

# ---- 2. with the customer display ----
cat >"$D/both.toml" <<EOF
[store]
name = "张记便利店"
station = "POS1"
[window]
start = "normal"
[customer_display]
enabled = true
monitor = 0
[sandbox]
listen = "127.0.0.1:7972"
EOF
start "$D/both.toml" "$D/both"
until xdotool search --onlyvisible --name "Customer display" >/dev/null 2>&1; do sleep 0.05; done
CUST=$(xdotool search --onlyvisible --name "Customer display" | head -1)
echo "customer display: $(xdotool getwindowgeometry "$CUST" | tr '\n' ' ')"
wmctrl -i -r "$CUST" -b add,above
xdotool windowfocus --sync "$MAIN"; sleep 1
import -window root "$DOCS/customer-idle.png"
echo "RSS, idle, with the customer display: $(ps -o rss= -p $PID) kB"
line 红烧牛肉面 18.80 2
line 冰红茶 3.5 1
line 茶叶蛋 1.50 3
sleep 0.5
import -window root "$DOCS/customer-sale.png"
xdotool key F12; sleep 3
import -window root "$DOCS/customer-payment.png"
echo "customer display QR decodes to: $(zbarimg -q --raw "$DOCS/customer-payment.png" 2>/dev/null)"
echo "RSS, payment screen, with the customer display: $(ps -o rss= -p $PID) kB"
cpu30 $PID "CPU, payment screen, both windows counting down"
echo "RSS, payment screen after those 30 s of countdown, with the customer display: $(ps -o rss= -p $PID) kB"
curl -s -d "order=$(newest_order "$D/both")" -d action=pay "http://127.0.0.1:7972/sandbox/customer" >/dev/null
sleep 3
import -window root "$DOCS/customer-paid.png"

kill $PID; wait $PID 2>/dev/null
kill $WM $XVFB
