#!/usr/bin/env bash
# Prepares a Wine prefix for running paydesk.exe and the Windows test binaries on Linux (testing only).
#
#   WINEPREFIX=/tmp/wine-paydesk packaging/windows/wine-prefix.sh      (default prefix: ~/.wine-paydesk)
#
# Creates the 64-bit prefix if needed (set to Windows 10) and, when this Wine has no bcryptprimitives.dll (Wine 8.0, Debian 12),
# builds wine-bcryptprimitives-shim.c with mingw and puts it into the prefix's system32. The shim is for Wine
# only: real Windows 10+ has the DLL, and nothing here goes into the installer or the zip.
# Use the same WINEPREFIX, WINEDEBUG and WINEDLLOVERRIDES afterwards (see README, "Windows").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export WINEPREFIX="${WINEPREFIX:-$HOME/.wine-paydesk}"
export WINEARCH=win64 WINEDEBUG="${WINEDEBUG:--all}"
# Keep Wine from writing menu entries and .desktop files into the user's home.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-winemenubuilder.exe=d}"

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wineboot -i >/dev/null 2>&1
  wineserver -w
  # Wine links Desktop, Documents, ... to the Unix home; make them plain folders so nothing run in the
  # prefix (an export, a shortcut) writes into the home directory.
  for link in "$WINEPREFIX"/drive_c/users/*/*; do
    if [ -L "$link" ]; then rm "$link" && mkdir "$link"; fi
  done
  # Wine 8.0 poses as Windows 7; PayDesk and its installer need Windows 10.
  wine winecfg -v win10
  wineserver -w
fi
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ -f "$sys32/bcryptprimitives.dll" ]; then
  echo "wine prefix $WINEPREFIX ready (bcryptprimitives.dll present)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
x86_64-w64-mingw32-gcc -O2 -shared -o "$tmp/bcryptprimitives.dll" "$here/wine-bcryptprimitives-shim.c" -lbcrypt
cp "$tmp/bcryptprimitives.dll" "$sys32/"
echo "wine prefix $WINEPREFIX ready (added the test-only bcryptprimitives.dll shim)"
