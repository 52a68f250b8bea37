#!/usr/bin/env bash
# The XlmEdge benchmark (docs/benchmarks.md): XlmEdge against ONNX Runtime and PyTorch on one
# synthetic checkpoint of the real xlm-mlm-enfr-1024 geometry, same inputs, same thread count.
#
#   tests/XlmEdge.Benchmarks/run-benchmarks.sh [--threads N] [--iterations SCALE] [--engines LIST] [--update-docs] [--profile]
#
# Steps (each generated artifact is cached in tests/XlmEdge.Benchmarks/work/, git-ignored;
# delete that folder to regenerate): install missing Debian packages; make the checkpoint with
# make_checkpoint.py; export the two ONNX files with export_onnx.py; build the benchmark
# (Release; it builds xlmedge-weights too); pack the checkpoint into GGUF; publish the `xlmedge`
# CLI with Native AOT (for the cold-start figure); run the benchmark. Results:
# work/results/results.md, results.json, benchmark-latency.svg. --update-docs copies the chart
# to docs/benchmark-latency.svg. --profile then samples XlmEdge with perf at T = 16 and T = 128
# (work/results/profile-T16.txt, profile-T128.txt). Other arguments go to the benchmark console.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
work="$here/work"
py=/usr/bin/python3   # Debian's torch lives in the system Python, not in a pyenv python3 on PATH
update_docs=0
profile=0
threads="$(nproc)"
args=()
prev=""
for a in "$@"; do
    case "$a" in
        --update-docs) update_docs=1 ;;
        --profile) profile=1 ;;
        *) args+=("$a"); [ "$prev" = "--threads" ] && threads="$a" ;;
    esac
    prev="$a"
done

say() { printf '== %s\n' "$*" >&2; }

# 1. packages: torch/numpy/onnx for the reference scripts, OpenBLAS (pthreads) as torch's BLAS,
#    GNU time for the peak-RSS figures of the cold starts.
missing=()
for pkg in python3-torch python3-numpy python3-onnx libopenblas0-pthread time; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update
    apt-get install -y "${missing[@]}"
fi

# 2. the reference scripts: ../shared/reference beside the repository root. In a git worktree
#    the root is the worktree, so the main checkout's sibling is tried as well.
ref="${XLMEDGE_REFERENCE:-$root/../shared/reference}"
if [ ! -f "$ref/make_checkpoint.py" ] && [ -z "${XLMEDGE_REFERENCE:-}" ]; then
    main_root="$(dirname "$(git -C "$root" rev-parse --path-format=absolute --git-common-dir)")"
    [ -f "$main_root/../shared/reference/make_checkpoint.py" ] && ref="$main_root/../shared/reference"
fi
if [ ! -f "$ref/make_checkpoint.py" ] || [ ! -f "$ref/export_onnx.py" ] || [ ! -f "$ref/xlm_reference.py" ]; then
    echo "error: reference scripts (make_checkpoint.py, export_onnx.py, xlm_reference.py) not found in $root/../shared/reference; set XLMEDGE_REFERENCE to their folder" >&2
    exit 1
fi
ref="$(cd "$ref" && pwd)"
mkdir -p "$work"

# 3. the enfr-1024 checkpoint (random fp16-exact weights, seed 1; about 15 s and 1.1 GB)
ckpt="$work/enfr-1024"
if [ ! -f "$ckpt/model.safetensors" ]; then
    say "making the enfr-1024 checkpoint"
    rm -rf "$ckpt"
    PYTHONDONTWRITEBYTECODE=1 "$py" "$ref/make_checkpoint.py" --geometry enfr-1024 \
        --vocab-dir "$root/tests/fixtures/tiny-enfr" --seed 1 --out "$ckpt" --skip-legacy
fi

# 4. ONNX exports: full logits, and the encoder alone (about a minute each)
export_onnx() {
    local out="$1"; shift
    if [ ! -f "$out" ]; then
        say "exporting $(basename "$out")"
        PYTHONDONTWRITEBYTECODE=1 "$py" "$ref/export_onnx.py" "$ckpt" --out "$out.tmp" "$@"
        mv "$out.tmp" "$out"
    fi
}
export_onnx "$work/enfr-1024.onnx"
export_onnx "$work/enfr-1024-encoder.onnx" --encoder-only

# 5. the benchmark console, Release (references xlmedge-weights, so that is built too)
say "building the benchmark (Release)"
dotnet build "$here/XlmEdge.Benchmarks.csproj" -c Release -nologo -v quiet
bin="$here/bin/Release/net10.0"

# 6. the GGUF file (a few seconds; repacked every run so it always matches the current tool)
say "packing enfr-1024.gguf"
"$bin/xlmedge-weights" pack "$ckpt" -o "$work/enfr-1024.gguf"

# 7. the Native AOT CLI, for the cold-start figure (republished when a source file is newer),
#    with the instruction-set baseline the CLI project chooses.
aot="$work/xlmedge-aot"
stamp="$aot/.published"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/src" \( -name '*.cs' -o -name '*.csproj' \) -newer "$stamp" -print -quit)" ]; then
    say "publishing the xlmedge CLI with Native AOT"
    rm -rf "$aot"
    dotnet publish "$root/src/XlmEdge.Cli/XlmEdge.Cli.csproj" -c Release -r linux-x64 -nologo -v quiet -o "$aot"
    touch "$stamp"
fi
cli=""
for name in xlmedge XlmEdge.Cli; do
    [ -x "$aot/$name" ] && { cli="$aot/$name"; break; }
done
[ -n "$cli" ] || { echo "error: no xlmedge executable in $aot after publishing" >&2; exit 1; }

# 8. the run
say "running (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
status=0
"$bin/XlmEdge.Benchmarks" run \
    --checkpoint "$ckpt" --gguf "$work/enfr-1024.gguf" \
    --onnx "$work/enfr-1024.onnx" --onnx-encoder "$work/enfr-1024-encoder.onnx" \
    --reference "$ref" --xlmedge-cli "$cli" --python "$py" --out "$work/results" \
    ${args[@]+"${args[@]}"} || status=$?
if [ "$update_docs" = 1 ] && [ -f "$work/results/benchmark-latency.svg" ]; then
    cp "$work/results/benchmark-latency.svg" "$root/docs/benchmark-latency.svg"
    say "copied the chart to docs/benchmark-latency.svg"
fi

# 9. where XlmEdge's time goes: perf samples of the engine child (JIT code named via perf maps)
if [ "$profile" = 1 ]; then
    command -v perf >/dev/null 2>&1 || { apt-get update && apt-get install -y linux-perf; }
    for t in 16 128; do
        "$py" - "$work/results/cases.json" "$work/profile-cases.json" "fill-mask T=$t" <<'PY'
import json, sys
cases = [c for c in json.load(open(sys.argv[1])) if c["name"] == sys.argv[3]]
for c in cases:
    c["iterations"] = 200 if c["tokens"] <= 32 else 40
json.dump(cases, open(sys.argv[2], "w"))
PY
        say "profiling XlmEdge at T = $t"
        # --delay skips loading and the engine's warm-up (about 4 s: tier-0 code would otherwise be
        # counted); the timed calls after it last 7-8 s.
        DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F 999 -g --delay 5000 -o "$work/profile.perf.data" -- \
            "$bin/XlmEdge.Benchmarks" engine xlmedge --model "$work/enfr-1024.gguf" --checkpoint "$ckpt" \
            --cases "$work/profile-cases.json" --threads "$threads" --out "$work/profile"
        perf report -i "$work/profile.perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.5 \
            2>/dev/null | grep -v '^#' | grep '%' | sed -e 's/ \{2,\}/  /g' > "$work/results/profile-T$t.txt"
        cat "$work/results/profile-T$t.txt"
    done
fi
exit "$status"
