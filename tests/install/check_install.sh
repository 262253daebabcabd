#!/usr/bin/env bash
# Installs the runtime from a build tree into a scratch prefix, then builds the example C app
# against it twice, as an app would: with CMake (find_package(mmoe)) and with pkg-config
# (mmoe.pc), and scores the shipped seed model with each.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL [install]: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" || fail "cmake --install: $(cat "$work/install.log")"
[[ -f $work/prefix/include/mmoe/mmoe.h && -f $work/prefix/include/mmoe/mmoe_c.h ]] || fail "headers not installed"
# The eval rows as raw float32 (the .npy header is 128 bytes).
tail -c +129 "$src/examples/seed/eval.npy" > "$work/eval.f32"

cmake -S "$src/tests/install/consumer" -B "$work/cmake-app" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DMMOE_APPS_DIR="$src/examples/apps" > "$work/app.log" 2>&1 || fail "consumer configure: $(cat "$work/app.log")"
cmake --build "$work/cmake-app" >> "$work/app.log" 2>&1 || fail "consumer build: $(tail -20 "$work/app.log")"
"$work/cmake-app/score_c" "$src/tests/data/seed.mmoe" "$work/eval.f32" 2000 > "$work/cmake.out" ||
  fail "find_package app failed: $(cat "$work/cmake.out")"

export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs --static mmoe) || fail "pkg-config cannot find mmoe.pc"
cc -std=c99 -c "$src/examples/apps/score_c.c" $(pkg-config --cflags mmoe) -o "$work/score_c.o"
c++ "$work/score_c.o" -o "$work/pc-app" $flags || fail "pkg-config link failed with: $flags"
"$work/pc-app" "$src/tests/data/seed.mmoe" "$work/eval.f32" 2000 > "$work/pc.out" || fail "pkg-config app failed"

diff "$work/cmake.out" "$work/pc.out" > /dev/null || fail "the two apps print different scores"
grep -q "scored 2000 rows x 2 tasks" "$work/cmake.out" || fail "unexpected output: $(tail -3 "$work/cmake.out")"
echo "ok [install]: find_package and pkg-config apps score the seed model alike"
