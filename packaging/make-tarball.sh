#!/usr/bin/env bash
# Builds a tarball for Linux systems without dpkg: target/paydesk-VERSION-ARCH-linux.tar.gz
# with the binary, the .desktop entry, the icon, README and the licences (PayDesk's and the font's).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(uname -m)
name="paydesk-${version}-${arch}-linux"
cargo build --release --locked
stage="target/${name}"
rm -rf "$stage"
mkdir -p "$stage"
cp target/release/paydesk packaging/paydesk.desktop assets/paydesk.png README.md LICENSE "$stage/"
cp assets/fonts/OFL.txt "$stage/OFL-NotoSansCJK.txt"
tar -C target -czf "target/${name}.tar.gz" "$name"
echo "target/${name}.tar.gz"
