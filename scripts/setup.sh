#!/usr/bin/env bash
# Installs what mmoe-edge needs to build and test on Debian 12 (as root, or through sudo).
#   scripts/setup.sh           build and test dependencies
#   scripts/setup.sh --train   also python3-torch, python3-numpy and python3-rdata, to retrain the
#                              examples (examples/census reads r-cran-kernlab's data, examples/sparse
#                              r-cran-modeldata's)
#   scripts/setup.sh --report  also chromium and python3, to render and check the HTML quality
#                              report (scripts/render-report.sh, ctest report.render; ~80 MB)
#   scripts/setup.sh --fuzz    also clang and its runtime libraries (libFuzzer, sanitizers)
# Flags combine (scripts/test.sh passes --report so that CI renders the report).
# Packages already installed are skipped, so a second run costs nothing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  flatbuffers-compiler libflatbuffers-dev   # the model file format (the runtime's one dependency)
  doctest-dev                               # tests
  libcli11-dev nlohmann-json3-dev           # the mmoe tool and converter
  libeigen3-dev                             # bench/: the float32 baseline
  zlib1g-dev                                # the converter reads np.savez_compressed (.npz) archives
  libonnx-dev libprotobuf-dev               # mmoe convert --onnx (ONNX's protobuf classes)
  libxnnpack-dev libpthreadpool-dev         # the optional xnnpack backend (MMOE_WITH_XNNPACK)
)
for flag in "$@"; do
  case $flag in
    --train) packages+=(python3-torch python3-numpy python3-rdata r-cran-kernlab r-cran-modeldata) ;;
    --report) packages+=(chromium python3) ;;
    # libclang-rt-14-dev ships libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh).
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "setup: unknown option '$flag' (options: --train, --report, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo > /dev/null || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
