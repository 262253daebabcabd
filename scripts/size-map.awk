# Sums the input sections that archive LIB (e.g. libmmoe.a) contributes to a GNU ld map file,
# per output section group: code (.text), rodata, eh (.eh_frame, .gcc_except_table, and on 32-bit
# ARM .ARM.extab and .ARM.exidx), data, bss.
BEGIN { in_map = 0 }
/^Linker script and memory map/ { in_map = 1; next }
!in_map { next }
/^\.[A-Za-z_.]/ { split($0, f, " "); out = f[1]; pending = ""; next }
/^ \.[^ ]+$/ { pending = $1; next }          # long input section name: numbers on next line
/^ \.[^ ]+ +0x/ { sec = $1; addr = $2; size = $3; file = $4; tally(); next }
/^ +0x[0-9a-f]+ +0x[0-9a-f]+ / && pending != "" { sec = pending; size = $2; file = $3; pending = ""; tally(); next }
{ pending = "" }
function tally(   g) {
  if (index(file, lib "(") == 0) return
  if (out ~ /^\.text/) g = "code"
  else if (out ~ /^\.rodata/) g = "rodata"
  else if (out ~ /^\.(eh_frame|gcc_except_table|ARM\.extab|ARM\.exidx)/) g = "eh"
  else if (out ~ /^\.(data|data\.rel\.ro|init_array|fini_array|tdata|got)/) g = "data"
  else if (out ~ /^\.(bss|tbss)/) g = "bss"
  else return
  sum[g] += hex(size)
}
END { printf "code=%d rodata=%d eh=%d data=%d bss=%d\n", sum["code"], sum["rodata"], sum["eh"], sum["data"], sum["bss"] }
function hex(s,   i, n, c) {
  n = 0
  for (i = 3; i <= length(s); i++) { c = index("0123456789abcdef", substr(tolower(s), i, 1)) - 1; n = n * 16 + c }
  return n
}
