#!/usr/bin/env bash
# Builds PayDesk for Windows on Linux in one go: the release paydesk.exe (cross-compiled with mingw), stripped,
# then the NSIS installer and the portable zip, in $CARGO_TARGET_DIR/windows (default target/windows):
#   paydesk-setup-VERSION.exe            64-bit installer (Program Files, shortcuts, uninstaller)
#   paydesk-VERSION-windows-x64.zip      the same files to unpack anywhere
# Needs: the rustup target x86_64-pc-windows-gnu, gcc-mingw-w64-x86-64 (linker, windres, strip), nsis, zip.
# Set SKIP_CARGO=1 to package an already built binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
exe="$target_dir/x86_64-pc-windows-gnu/release/paydesk.exe"
out="$target_dir/windows"
name="paydesk-${version}-windows-x64"
stage="$out/$name"

if [ "${SKIP_CARGO:-}" != 1 ]; then
  cargo build --release --locked --target x86_64-pc-windows-gnu
fi

rm -rf "$stage"
mkdir -p "$stage"
# Debug symbols are a quarter of the size and of no use to a shop; the resources (icon, version) stay.
x86_64-w64-mingw32-strip -o "$stage/paydesk.exe" "$exe"
# Text files get Windows line ends, for Notepad.
sed 's/$/\r/' LICENSE >"$stage/LICENSE.txt"
sed 's/$/\r/' assets/fonts/OFL.txt >"$stage/OFL-NotoSansCJK.txt"
cp README.md "$stage/README.md"

setup="$out/paydesk-setup-${version}.exe"
makensis -V2 -DVERSION="$version" -DSTAGE="$stage" -DOUTFILE="$setup" packaging/windows/paydesk.nsi
rm -f "$out/$name.zip"
(cd "$out" && zip -qr -X "$name.zip" "$name")
ls -l "$stage/paydesk.exe" "$setup" "$out/$name.zip"
