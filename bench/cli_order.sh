#!/usr/bin/env bash
# cli_order.sh: regenerates cmd/berth.order, the functions the berth CLI runs for its commonest
# commands, in the order the link lays them out first (lld --symbol-ordering-file; see
# cmd/CMakeLists.txt). Why: the CLI is a fresh 7 MB static binary per command, and on the
# reference VM (a PVM guest) each page fault of its text costs ~25 us; scattered over the whole
# text, the ~600 functions a `run` executes took ~48 text faults, laid out together ~15.
#
#   sudo BERTH_BUILD=/path/to/build bench/cli_order.sh     # then rebuild
#
# Runs each command below under valgrind's callgrind against a private berthd
# (bench/lib-engines.sh) and lists the functions with cost, `run --rm` first, the others' new
# ones after. Symbols the list names that a later build lacks are skipped by the linker; a stale
# list costs speed, never correctness. Needs root, valgrind and the docker CLI (for the import).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib-engines.sh
source "$here/bench/lib-engines.sh"
trap eng_cleanup EXIT
command -v valgrind >/dev/null || { echo "cli_order: needs valgrind" >&2; exit 1; }
eng_start_berthd
eng_import berthd
out=$here/cmd/berth.order
cg=$work/callgrind
mkdir -p "$cg"

n=0
trace() {
  n=$((n + 1))
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$cg/$n.out" \
    "${bcli[@]}" "$@" >/dev/null 2>&1 || true
}
trace run --rm --network none busybox true
trace run --rm busybox true
trace run -d --name order-d busybox sleep 60
trace exec order-d true
trace logs order-d
trace ps -a
trace images
trace version
trace rm -f order-d

nm "$berth_cli" | awk '$2 ~ /^[tTwW]$/ {print $3}' >"$cg/symbols"
python3 - "$out" "$cg/symbols" "$cg"/*.out <<'PY'
import re, sys
out, symfile = sys.argv[1], sys.argv[2]
files = sorted(sys.argv[3:], key=lambda f: int(f.rsplit('/', 1)[1].split('.')[0]))
symbols = [l.strip() for l in open(symfile)]
# Each command's new functions as a group, sorted so that a regenerated list differs only where
# the code did (callgrind's own order varies from run to run).
seen = {}
for f in files:
    names, ran = {}, set()
    for line in open(f, errors='replace'):
        m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
        if not m:
            continue
        if m.group(3):
            names[m.group(2)] = m.group(3)
        name = names.get(m.group(2))
        # Unnamed code shows as a hex address; it cannot be ordered by name.
        if m.group(1) == 'fn' and name and not name.startswith('0x'):
            ran.add(name)
    for name in sorted(ran):
        seen.setdefault(name, None)
# glibc picks a string function's variant by CPU (ifunc); valgrind's CPU has no AVX-512, so the
# trace names __strlen_avx2 where this machine runs __strlen_evex: list every variant.
variant = re.compile(r'^(__\w+?)_(sse2|ssse3|sse4_1|sse4_2|avx|avx2|evex|evex512|avx512)')
for name in list(seen):
    m = variant.match(name)
    if m:
        for s in symbols:
            if s.startswith(m.group(1) + '_'):
                seen.setdefault(s, None)
# The entry point's code first, and its end-of-hot-text marker last (cmd/berth_entry.cc maps
# the text up to the marker ahead).
entry = ['berth_cli_entry', 'BerthCliPrefault', 'BerthCliPrefaultRanges',
         '_ZN12_GLOBAL__N_112PrefaultHeapEv']
names = entry + [n for n in seen if n not in entry and n != 'berth_cli_hot_end']
names.append('berth_cli_hot_end')
with open(out, 'w') as o:
    o.write('\n'.join(names) + '\n')
print(f'cli_order: {len(seen)} functions -> {out}')
PY
