#!/usr/bin/env bash
# The XlmEdge benchmark (docs/benchmarks.md): XlmEdge against ONNX Runtime and PyTorch on one
# synthetic checkpoint of the real xlm-mlm-enfr-1024 geometry, same inputs, same thread count.
#
#   tests/XlmEdge.Benchmarks/run-benchmarks.sh [--threads N] [--iterations SCALE] [--engines LIST] [--update-docs] [--profile] [--q8-only]
#
# Steps (each generated artifact is cached in tests/XlmEdge.Benchmarks/work/, git-ignored;
# delete that folder to regenerate): install missing Debian packages; make the checkpoint with
# python/make_checkpoint.py; export the two ONNX files with python/export_onnx.py; build the
# benchmark (Release; it builds xlmedge-weights too); pack the checkpoint into GGUF; publish the
# `xlmedge` CLI with Native AOT (for the cold-start figure); run the benchmark. Everything it needs is
# in this repository. Results: work/results/results.md, results.json, benchmark-latency.svg, and the
# generation row (a causal checkpoint of the same geometry, export without a cache): generation.md.
# --update-docs copies the chart to docs/benchmark-latency.svg. --profile then samples XlmEdge with
# perf at T = 16 and T = 128 (work/results/profile-T16.txt, profile-T128.txt). The int8 section (issue
# 12: XlmEdge q8 and fp16 against ONNX Runtime fp32 and on an int8 export, work/results/q8.md) runs
# after the generation row; --q8-only runs it alone. Other arguments go to the benchmark console.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
work="$here/work"
py=/usr/bin/python3   # Debian's torch lives in the system Python, not in a pyenv python3 on PATH
update_docs=0
profile=0
q8_only=0
threads="$(nproc)"
args=()
prev=""
for a in "$@"; do
    case "$a" in
        --update-docs) update_docs=1 ;;
        --profile) profile=1 ;;
        --q8-only) q8_only=1 ;;
        *) args+=("$a"); [ "$prev" = "--threads" ] && threads="$a" ;;
    esac
    prev="$a"
done

say() { printf '== %s\n' "$*" >&2; }

# 1. packages: numpy/onnx for the checkpoint maker and the exporter, torch for the PyTorch peer,
#    OpenBLAS (pthreads) as torch's BLAS, GNU time for the peak-RSS figures of the cold starts.
missing=()
for pkg in python3-torch python3-numpy python3-onnx libopenblas0-pthread time; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update
    apt-get install -y "${missing[@]}"
fi
mkdir -p "$work"

# 2. the enfr-1024 checkpoint (random fp16-exact weights, seed 1, vocabulary of tests/fixtures/tiny-enfr
#    padded to 64139 entries; a few seconds and 567 MB)
ckpt="$work/enfr-1024"
if [ ! -f "$ckpt/model.safetensors" ] || [ "$here/python/make_checkpoint.py" -nt "$ckpt/model.safetensors" ] \
    || [ "$here/python/xlm_checkpoint.py" -nt "$ckpt/model.safetensors" ]; then
    say "making the enfr-1024 checkpoint"
    rm -rf "$ckpt"
    PYTHONDONTWRITEBYTECODE=1 "$py" "$here/python/make_checkpoint.py" --geometry enfr-1024 \
        --vocab-dir "$root/tests/fixtures/tiny-enfr" --seed 1 --out "$ckpt"
fi

# 3. ONNX exports: full logits, and the encoder alone (a few seconds each)
export_onnx() {
    local out="$1"; shift
    if [ ! -f "$out" ] || [ "$here/python/export_onnx.py" -nt "$out" ] || [ "$ckpt/model.safetensors" -nt "$out" ]; then
        say "exporting $(basename "$out")"
        PYTHONDONTWRITEBYTECODE=1 "$py" "$here/python/export_onnx.py" "$ckpt" --out "$out" "$@"
    fi
}
export_onnx "$work/enfr-1024.onnx"
export_onnx "$work/enfr-1024-encoder.onnx" --head encoder
export_onnx "$work/enfr-1024-int8.onnx" --weights int8   # the int8 peer of the q8 section (407 MB)

# 4. the benchmark console, Release (references xlmedge-weights, so that is built too)
say "building the benchmark (Release)"
dotnet build "$here/XlmEdge.Benchmarks.csproj" -c Release -nologo -v quiet
bin="$here/bin/Release/net10.0"

# 5. the GGUF files (a few seconds; repacked every run so they always match the current tool): enfr-1024,
#    and the tiny fixture for the generated-against-generic comparison at the tiny geometry
say "packing enfr-1024.gguf and tiny-enfr.gguf"
"$bin/xlmedge-weights" pack "$ckpt" -o "$work/enfr-1024.gguf"
"$bin/xlmedge-weights" pack "$root/tests/fixtures/tiny-enfr" -o "$work/tiny-enfr.gguf" >/dev/null
"$bin/xlmedge-weights" pack "$ckpt" --dtype q8 -o "$work/enfr-1024-q8.gguf" >/dev/null

# The int8 section: fill-mask at T = 8 .. 512, XlmEdge q8 and fp16 against ONNX Runtime fp32 and int8,
# each engine in its own child process, the four taking turns within each case (a few minutes).
q8_section() {
    say "q8 against ONNX Runtime fp32 and int8 (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    "$bin/XlmEdge.Benchmarks" q8 --checkpoint "$ckpt" --q8 "$work/enfr-1024-q8.gguf" --gguf "$work/enfr-1024.gguf" \
        --onnx "$work/enfr-1024.onnx" --onnx-int8 "$work/enfr-1024-int8.onnx" --threads "$threads" --out "$work/results" \
        ${args[@]+"${args[@]}"}
}
if [ "$q8_only" = 1 ]; then
    q8_section
    exit
fi

# 6. the artefacts users run, (re)published when a source file is newer, with the instruction-set
#    baseline their projects choose: the Native AOT console (also for the cold-start figure), the
#    console on the JIT (XlmEdge.Cli.dll), and libxlmedge.so with the C driver native/xlmedge_bench.c.
publish() {
    local project="$1" out="$2"
    if [ ! -f "$out/.published" ] || [ -n "$(find "$root/src" \( -name '*.cs' -o -name '*.csproj' \) -newer "$out/.published" -print -quit)" ]; then
        say "publishing $(basename "$project" .csproj) with Native AOT"
        rm -rf "$out"
        dotnet publish "$project" -c Release -r "linux-$(dotnet --info | sed -n 's/^ *RID: *linux-//p' | head -1)" -nologo -v quiet -o "$out"
        touch "$out/.published"
    fi
}
publish "$root/src/XlmEdge.Cli/XlmEdge.Cli.csproj" "$work/xlmedge-aot"
publish "$root/src/XlmEdge.Native/XlmEdge.Native.csproj" "$work/xlmedge-native"
cli=""
for name in xlmedge XlmEdge.Cli; do
    [ -x "$work/xlmedge-aot/$name" ] && { cli="$work/xlmedge-aot/$name"; break; }
done
[ -n "$cli" ] || { echo "error: no xlmedge executable in $work/xlmedge-aot after publishing" >&2; exit 1; }
say "building the console on the JIT and the C driver"
dotnet build "$root/src/XlmEdge.Cli/XlmEdge.Cli.csproj" -c Release -nologo -v quiet
cli_jit="$root/src/XlmEdge.Cli/bin/Release/net10.0/XlmEdge.Cli.dll"
command -v cc >/dev/null 2>&1 || { apt-get update && apt-get install -y build-essential; }
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/src/XlmEdge.Native/include" -o "$work/xlmedge_bench" "$here/native/xlmedge_bench.c" \
    -L"$work/xlmedge-native" -lxlmedge -Wl,-rpath,"$work/xlmedge-native"

# 7. the run
say "running (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
status=0
"$bin/XlmEdge.Benchmarks" run \
    --checkpoint "$ckpt" --gguf "$work/enfr-1024.gguf" \
    --onnx "$work/enfr-1024.onnx" --onnx-encoder "$work/enfr-1024-encoder.onnx" \
    --tiny-gguf "$work/tiny-enfr.gguf" --xlmedge-cli "$cli" --xlmedge-cli-jit "$cli_jit" --xlmedge-c-driver "$work/xlmedge_bench" \
    --python "$py" --out "$work/results" \
    ${args[@]+"${args[@]}"} || status=$?

# 7b. the generation row (issue #16): a causal checkpoint of the same geometry (xlm-clm-enfr-1024),
#     greedy, 16-token prompt, 32 new tokens; ONNX Runtime on an export without a key/value cache.
clm="$work/clm-enfr-1024"
if [ ! -f "$clm/model.safetensors" ] || [ "$here/python/make_checkpoint.py" -nt "$clm/model.safetensors" ] \
    || [ "$here/python/xlm_checkpoint.py" -nt "$clm/model.safetensors" ]; then
    say "making the clm-enfr-1024 checkpoint"
    rm -rf "$clm"
    PYTHONDONTWRITEBYTECODE=1 "$py" "$here/python/make_checkpoint.py" --geometry enfr-1024 --causal \
        --vocab-dir "$root/tests/fixtures/tiny-enfr" --seed 2 --out "$clm"
fi
ckpt="$clm" export_onnx "$work/clm-enfr-1024-next.onnx" --head next-token
"$bin/xlmedge-weights" pack "$clm" -o "$work/clm-enfr-1024.gguf" >/dev/null
say "generation (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
"$bin/XlmEdge.Benchmarks" generation --gguf "$work/clm-enfr-1024.gguf" --onnx "$work/clm-enfr-1024-next.onnx" \
    --threads "$threads" --prompt-tokens 16 --new-tokens 32 --runs 7 --out "$work/results/generation.md" || status=$?

q8_section || status=$?

if [ "$update_docs" = 1 ] && [ -f "$work/results/benchmark-latency.svg" ]; then
    cp "$work/results/benchmark-latency.svg" "$root/docs/benchmark-latency.svg"
    say "copied the chart to docs/benchmark-latency.svg"
fi

# 8. where XlmEdge's time goes: perf samples of the engine child (JIT code named via perf maps)
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
