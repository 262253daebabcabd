#!/usr/bin/env bash
# Prepares a sysroot of Debian's arm64 or armhf builds of the libraries the xnnpack backend
# links (XNNPACK, pthreadpool, cpuinfo), so that the runtime with XNNPACK cross-builds:
#   scripts/make-sysroot.sh arm64|armhf [DIR]      (default DIR: sysroots/<arch>)
# then configure with -DMMOE_SYSROOT_EXTRA=DIR (toolchains/*.cmake add it to the search path).
# FlatBuffers is header-only and comes from the host. Needs root (dpkg --add-architecture,
# apt-get update) the first time; packages are unpacked, never installed.
set -euo pipefail
arch=${1:?usage: make-sysroot.sh arm64|armhf [DIR]}
case $arch in arm64|armhf) ;; *) echo "make-sysroot: unknown architecture '$arch' (arm64 or armhf)" >&2; exit 2;; esac
cd "$(dirname "$0")/.."
dir=$(realpath -m "${2:-sysroots/$arch}")
packages=(libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo-dev libcpuinfo0)

sudo=""
[[ $(id -u) -eq 0 ]] || sudo=sudo
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  echo "make-sysroot: enabling the $arch architecture for apt"
  $sudo dpkg --add-architecture "$arch"
fi
# Also when the architecture was added before: an earlier update may have failed half-way
# (seen: a security mirror in the middle of a sync). One retry; a list that is still missing
# makes apt-get download below fail with the package's name.
if ! apt-cache show "libxnnpack-dev:$arch" > /dev/null 2>&1; then
  $sudo apt-get update -qq || $sudo apt-get update -qq || true
fi
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
chmod 755 "$download"  # apt's sandbox user downloads into it
(cd "$download" && apt-get download -qq "${packages[@]/%/:$arch}")
mkdir -p "$dir"
for deb in "$download"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
# The .so symlinks of the -dev packages are relative and stay valid inside the sysroot.
echo "make-sysroot: $arch libraries in $dir:"
find "$dir" -name "*.so*" -o -name "*.a" | sed "s|^$dir/|  |" | sort
