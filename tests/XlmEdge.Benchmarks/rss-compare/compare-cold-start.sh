#!/usr/bin/env bash
# Cold start and peak RSS of the Native AOT console on this checkout and on an earlier commit, on this
# machine: `xlmedge fill-mask` on the benchmark's cold-start sentence, the two binaries alternating, so
# that both see the same host (this VM's speed moves by 20-30 % within an hour).
#   tests/XlmEdge.Benchmarks/rss-compare/compare-cold-start.sh REV OLD.gguf NEW.gguf [RUNS] [NEW_XLMEDGE]
# OLD.gguf must be a file REV's console reads (pack it with REV's weights tool); NEW.gguf one this
# checkout's reads. NEW_XLMEDGE defaults to the console run-benchmarks.sh publishes (work/xlmedge-aot:
# the x64 launcher that picks the v3 or v4 build), which is the one users run. Prints the median, min
# and max wall time (process start to exit, files in the page cache) and the median peak RSS of each.
set -euo pipefail
rev=$1 old_model=$2 new_model=$3 runs=${4:-15}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
new_cli=${5:-$here/../work/xlmedge-aot/xlmedge}
[ -x "$new_cli" ] || { echo "error: no console at $new_cli (run run-benchmarks.sh first, or pass NEW_XLMEDGE)" >&2; exit 1; }
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add -q --detach "$work/old" "$rev"
dotnet publish "$work/old/src/XlmEdge.Cli" -c Release -r linux-x64 -o "$work/old-aot" -v quiet -nologo >/dev/null
old_cli=$work/old-aot/xlmedge
sentence="the cat sat on the <special1> and looked at the dog ."
one() {  # one NAME CLI MODEL: appends "ms kB" to $work/NAME.txt
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$2" fill-mask -m "$3" --lang en "$sentence" >/dev/null
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 )) $(cat "$work/rss")" >>"$work/$1.txt"
}
one old "$old_cli" "$old_model"   # page cache and first-run effects, not counted
one new "$new_cli" "$new_model"
: >"$work/old.txt"; : >"$work/new.txt"
for _ in $(seq "$runs"); do
  one old "$old_cli" "$old_model"
  one new "$new_cli" "$new_model"
done
report() {  # report NAME LABEL
  local median_kb
  median_kb=$(cut -d' ' -f2 "$work/$1.txt" | sort -n | awk '{kb[NR] = $1} END {print kb[int((NR + 1) / 2)]}')
  cut -d' ' -f1 "$work/$1.txt" | sort -n | awk -v label="$2" -v kb="$median_kb" '{ms[NR] = $1} END {
    printf "%s: cold start median %d ms (min %d, max %d), peak RSS median %.1f MB, %d runs\n",
      label, ms[int((NR + 1) / 2)], ms[1], ms[NR], kb / 1024, NR }'
}
report old "$rev"
report new "this checkout"
