#!/usr/bin/env bash
# Configures and builds mmoe-edge into ./build (Release). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build >> build.log 2>&1 || { tail -50 build.log; exit 1; }
rm -f build.log
