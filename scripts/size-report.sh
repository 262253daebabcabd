#!/usr/bin/env bash
# Measures what the runtime costs an ARM app, with and without XNNPACK, and prints a markdown
# table (docs/performance.md, "Size", is its output) or, with --json, one JSON object a line.
#   scripts/size-report.sh [--json] [--check] [aarch64|armv7 ...]     (default: both)
# Release builds of the runtime and the example apps only, in build-size-<target>[-xnnpack]/.
# The XNNPACK rows need `scripts/make-sysroot.sh arm64|armhf` first; without the sysroot they
# are skipped. --check fails unless the aarch64 runtime without XNNPACK is within 150 KiB.
#
# Figures, in bytes:
#   runtime_in_app  what libmmoe.a's own objects put into the score_cpp app: code, read-only
#                   data, unwind tables and data, summed from the app's link map
#                   (scripts/size-map.awk; .bss takes no file space and is left out). The
#                   libstdc++ and libc functions the runtime calls are not in it.
#   lib_stripped    libmmoe.a after `strip --strip-unneeded`: the archive an SDK would ship.
#                   Still linkable, so it keeps its symbol table and relocations, which no
#                   app carries. (A plain `strip` makes it 6% smaller but unlinkable.)
#   app             examples/apps/score_cpp, linked with --gc-sections, stripped. Without
#                   XNNPACK it is linked -static (glibc and libstdc++ included); Debian has no
#                   static XNNPACK, so with it the app is dynamic and needs xnnpack_so too.
#   empty_app       `int main() {}` linked -static and stripped: glibc's and libstdc++'s
#                   floor, which any static C++ app pays without the runtime.
#   xnnpack_so      libXNNPACK + libpthreadpool + libcpuinfo from the sysroot, stripped.
set -euo pipefail
cd "$(dirname "$0")/.."

json=no check=no targets=()
for arg in "$@"; do
  case $arg in
    --json) json=yes ;;
    --check) check=yes ;;
    aarch64 | armv7) targets+=("$arg") ;;
    *) echo "size-report: unknown argument '$arg' (--json, --check, aarch64, armv7)" >&2; exit 2 ;;
  esac
done
((${#targets[@]})) || targets=(aarch64 armv7)
limit=$((150 * 1024))

# field ROW KEY: the value of KEY in a row of key=value pairs.
field() {
  local kv
  for kv in $1; do
    [[ ${kv%%=*} == "$2" ]] && { echo "${kv#*=}"; return; }
  done
}

# 1234567 -> 1,234,567
commas() { LC_ALL=C printf '%d' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

stripped_size() {  # stripped_size STRIP FILE [STRIP OPTIONS...]
  local strip=$1 file=$2 copy
  shift 2
  copy=$(mktemp)
  cp "$file" "$copy"
  "$strip" "$@" "$copy"
  stat -c %s "$copy"
  rm -f "$copy"
}

# measure TARGET XNNPACK(ON|OFF): builds and prints one row as key=value pairs.
measure() {
  local target=$1 xnnpack=$2 toolchain triple sysroot cross
  case $target in
    aarch64) toolchain=toolchains/aarch64-linux-gnu.cmake triple=aarch64-linux-gnu sysroot=sysroots/arm64 ;;
    armv7) toolchain=toolchains/arm-linux-gnueabihf.cmake triple=arm-linux-gnueabihf sysroot=sysroots/armhf ;;
  esac
  cross=$triple-
  local dir=build-size-$target static=-static extra=()
  if [[ $xnnpack == ON ]]; then
    dir+=-xnnpack static=""
    extra=(-DMMOE_SYSROOT_EXTRA="$PWD/$sysroot")
  fi
  mkdir -p "$dir/maps"
  # -Map=DIR/ writes DIR/<program>.map for every program linked.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DMMOE_BUILD_TOOLS=OFF -DMMOE_BUILD_BENCH=OFF -DMMOE_WITH_XNNPACK="$xnnpack" "${extra[@]}" \
    -DCMAKE_EXE_LINKER_FLAGS="$static -Wl,-Map=$PWD/$dir/maps/" > "$dir/size-report.log" 2>&1 ||
    { cat "$dir/size-report.log" >&2; exit 1; }
  cmake --build "$dir" --target score_cpp >> "$dir/size-report.log" 2>&1 ||
    { tail -30 "$dir/size-report.log" >&2; exit 1; }

  local sections
  sections=$(awk -v lib=libmmoe.a -f scripts/size-map.awk "$dir/maps/score_cpp.map")
  local code rodata eh data
  eval "$(echo "$sections" | tr ' ' '\n' | grep -E '^(code|rodata|eh|data)=')"
  local runtime_in_app=$((code + rodata + eh + data))
  local lib_stripped app empty_app xnnpack_so=0
  lib_stripped=$(stripped_size "${cross}strip" "$dir/runtime/libmmoe.a" --strip-unneeded)
  app=$(stripped_size "${cross}strip" "$dir/examples/score_cpp")
  echo 'int main() { return 0; }' > "$dir/empty.cpp"
  "${cross}g++" -O2 -static -o "$dir/empty_app" "$dir/empty.cpp"
  empty_app=$(stripped_size "${cross}strip" "$dir/empty_app")
  if [[ $xnnpack == ON ]]; then
    local lib
    for lib in XNNPACK pthreadpool cpuinfo; do
      xnnpack_so=$((xnnpack_so + $(stripped_size "${cross}strip" "$sysroot/usr/lib/$triple/lib$lib.so")))
    done
  fi
  echo "target=$target xnnpack=$xnnpack runtime_in_app=$runtime_in_app code=$code rodata=$rodata eh=$eh" \
    "data=$data lib_stripped=$lib_stripped app=$app app_static=$([[ -n $static ]] && echo yes || echo no)" \
    "empty_app=$empty_app xnnpack_so=$xnnpack_so"
}

rows=()
for target in "${targets[@]}"; do
  sysroot=sysroots/arm64
  [[ $target == armv7 ]] && sysroot=sysroots/armhf
  rows+=("$(measure "$target" OFF)")
  if [[ -d $sysroot/usr/include ]]; then
    rows+=("$(measure "$target" ON)")
  else
    echo "size-report: no $sysroot (scripts/make-sysroot.sh): $target without XNNPACK only" >&2
  fi
done

if [[ $json == yes ]]; then
  for row in "${rows[@]}"; do
    printf '{'
    sep=""
    for kv in $row; do
      k=${kv%%=*} v=${kv#*=}
      [[ $v =~ ^[0-9]+$ ]] || v="\"$v\""
      printf '%s"%s": %s' "$sep" "$k" "$v"
      sep=", "
    done
    printf '}\n'
  done
else
  echo "| target | XNNPACK | runtime in app (code + rodata + unwind + data) | libmmoe.a stripped | score_cpp app, stripped | empty static C++ program | XNNPACK + deps (.so, stripped) |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    kind="static"
    [[ $(field "$row" app_static) == yes ]] || kind="dynamic"
    so="—"
    [[ $(field "$row" xnnpack) == ON ]] && so="$(commas "$(field "$row" xnnpack_so)") B"
    printf '| %s | %s | %s B (%s + %s + %s + %s) | %s B | %s B (%s) | %s B | %s |\n' \
      "$(field "$row" target)" "$(field "$row" xnnpack)" "$(commas "$(field "$row" runtime_in_app)")" \
      "$(commas "$(field "$row" code)")" "$(commas "$(field "$row" rodata)")" \
      "$(commas "$(field "$row" eh)")" "$(commas "$(field "$row" data)")" \
      "$(commas "$(field "$row" lib_stripped)")" "$(commas "$(field "$row" app)")" "$kind" \
      "$(commas "$(field "$row" empty_app)")" "$so"
  done
fi

if [[ $check == yes ]]; then
  for row in "${rows[@]}"; do
    [[ $row == "target=aarch64 xnnpack=OFF "* ]] || continue
    bytes=$(field "$row" runtime_in_app)
    if ((bytes > limit)); then
      echo "size-report: aarch64 runtime is $bytes bytes in an app, over the $limit-byte (150 KiB) target" >&2
      exit 1
    fi
    echo "size-report: aarch64 runtime is $bytes bytes in an app, within 150 KiB ($limit bytes)" >&2
  done
fi
