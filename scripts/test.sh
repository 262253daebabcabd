#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --report   # chromium: the HTML report's rendering test
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
