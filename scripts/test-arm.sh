#!/usr/bin/env bash
# Cross-builds mmoe-edge (Release) for ARM and runs the whole ctest suite under qemu-user:
#   build-aarch64/          AArch64, tested on cortex-a53 (NEON only) and max (NEON, dot product,
#                           int8 matrix multiply); cortex-a76 (dot product, no i8mm) checks the ISA list
#   build-aarch64-xnnpack/  the same with the xnnpack backend (Debian's arm64 XNNPACK), both CPUs
#   build-armv7/            ARMv7-A NEON (hard float), tested on cortex-a15
#   build-armv7-xnnpack/    the same with the xnnpack backend (Debian's armhf XNNPACK)
# and checks which simd ISAs each emulated CPU offers (neondot only where it has SDOT, i8mm only
# where it has SMMLA as well), and
# that the xnnpack backend runs where it is built.
#   scripts/test-arm.sh                 all four builds
#   scripts/test-arm.sh aarch64|aarch64-xnnpack|armv7|armv7-xnnpack ...   some of them
# Installs Debian's cross compilers and qemu-user when they are missing (as root or via sudo);
# the -xnnpack builds unpack the target's XNNPACK into sysroots/ (scripts/make-sysroot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
((${#targets[@]})) || targets=(aarch64 aarch64-xnnpack armv7 armv7-xnnpack)
jobs=$(nproc)

scripts/setup.sh  # the host's flatc and header-only libraries serve the cross builds too

install_cross_tools() {
  local packages=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user) missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo "test-arm: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build DIR TOOLCHAIN [SYSROOT]: configure and build; with SYSROOT (a Debian architecture,
# arm64 or armhf) the xnnpack backend too, against sysroots/SYSROOT, else without it.
# MMOE_QEMU_CPU stays empty so that QEMU_CPU in the environment picks the emulated CPU of
# each test run. (Compiler flags are cached at the first configure: remove DIR after editing
# a toolchain file.)
build() {
  local dir=$1 toolchain=$2 sysroot=${3:-}
  local log=$dir/test-arm-build.log xnnpack=(-DMMOE_WITH_XNNPACK=OFF)
  if [[ -n $sysroot ]]; then
    [[ -f sysroots/$sysroot/usr/include/xnnpack.h ]] || scripts/make-sysroot.sh "$sysroot" > /dev/null
    xnnpack=(-DMMOE_WITH_XNNPACK=ON -DMMOE_SYSROOT_EXTRA="$PWD/sysroots/$sysroot")
  fi
  echo "test-arm: building $dir"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DMMOE_QEMU_CPU= "${xnnpack[@]}" > "$log" 2>&1 || { cat "$log"; exit 1; }
  cmake --build "$dir" -j "$jobs" >> "$log" 2>&1 || { tail -50 "$log"; exit 1; }
  rm -f "$log"
}

# check_isas DIR CPU ISA...: `mmoe bench --isa X` succeeds for exactly the ISAs listed (of
# i8mm, neondot, neon, generic) on that CPU, and `--backend xnnpack` runs if the build has it.
# The build's own qemu wrapper (cmake/Emulator.cmake) carries the sysroot and library paths.
check_isas() {
  local dir=$1 cpu=$2 isa
  shift 2
  local model=$dir/test-arm-seed.mmoe seed=examples/seed
  local mmoe=(env QEMU_CPU="$cpu" "$dir/emulated/mmoe.sh")
  [[ -s $model ]] || "${mmoe[@]}" convert --weights "$seed/seed_mmoe.safetensors" \
    --arch "$seed/seed_mmoe.arch.json" --calib "$seed/calib.npy" -o "$model" > /dev/null
  for isa in i8mm neondot neon generic; do
    local want=no got=no
    [[ " $* " == *" $isa "* ]] && want=yes
    "${mmoe[@]}" bench "$model" --backend simd --isa "$isa" --runs 2 --warmup 0 > /dev/null 2>&1 && got=yes
    if [[ $want != "$got" ]]; then
      echo "test-arm: $dir on $cpu: isa $isa available: $got, expected $want" >&2
      return 1
    fi
  done
  local offers=$*
  if grep -q "^MMOE_WITH_XNNPACK:BOOL=ON" "$dir/CMakeCache.txt"; then
    "${mmoe[@]}" bench "$model" --backend xnnpack --runs 2 --warmup 0 > /dev/null ||
      { echo "test-arm: $dir on $cpu: the xnnpack backend does not run" >&2; return 1; }
    offers+=" + xnnpack"
  fi
  echo "test-arm: $dir on $cpu offers: $offers"
}

# run_tests DIR CPU ISA...: the ctest suite, then the ISA check, on one CPU.
# Failures are collected, so that every CPU is tested.
failed=()
run_tests() {
  local dir=$1 cpu=$2
  echo "test-arm: ctest in $dir on $cpu"
  QEMU_CPU=$cpu ctest --test-dir "$dir" --output-on-failure -j "$jobs" || failed+=("ctest in $dir on $cpu")
  check_isas "$@" || failed+=("ISA list of $dir on $cpu")
}

install_cross_tools
for target in "${targets[@]}"; do
  case $target in
    aarch64)
      build build-aarch64 toolchains/aarch64-linux-gnu.cmake
      run_tests build-aarch64 cortex-a53 neon
      run_tests build-aarch64 max i8mm neondot neon
      check_isas build-aarch64 cortex-a76 neondot neon || failed+=("ISA list of build-aarch64 on cortex-a76")
      ;;
    aarch64-xnnpack)
      build build-aarch64-xnnpack toolchains/aarch64-linux-gnu.cmake arm64
      run_tests build-aarch64-xnnpack cortex-a53 neon
      run_tests build-aarch64-xnnpack max i8mm neondot neon
      ;;
    armv7)
      build build-armv7 toolchains/arm-linux-gnueabihf.cmake
      run_tests build-armv7 cortex-a15 neon generic
      ;;
    armv7-xnnpack)
      build build-armv7-xnnpack toolchains/arm-linux-gnueabihf.cmake armhf
      run_tests build-armv7-xnnpack cortex-a15 neon generic
      ;;
    *)
      echo "test-arm: unknown target '$target' (aarch64, aarch64-xnnpack, armv7, armv7-xnnpack)" >&2
      exit 2
      ;;
  esac
done
if ((${#failed[@]})); then
  printf 'test-arm: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test-arm: all passed"
