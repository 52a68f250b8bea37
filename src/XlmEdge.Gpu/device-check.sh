#!/usr/bin/env bash
# The GPU backend on a real NVIDIA GPU, in one call: the CUDA goldens, every device op against its
# scalar twin, and the GPU benchmark (issue #13).
#
#   src/XlmEdge.Gpu/device-check.sh pack     on a machine with the .NET SDK: publishes the GPU test
#                                            binary self-contained (linux-x64) with the fixtures into
#                                            artifacts/xlmedge-gpu-check.tar.xz (under 64 MiB)
#   src/XlmEdge.Gpu/device-check.sh [TARBALL] on the GPU machine (x86-64, NVIDIA driver; no .NET, no
#                                            network needed): unpacks it, prints the machine, runs the
#                                            tests on CUDA (XLMEDGE_GPU_TESTS=cuda), then the benchmark
#
# The device tool of this project runs the second form with the tarball carried along, e.g.
#   run(command="src/XlmEdge.Gpu/device-check.sh", carry=["artifacts/xlmedge-gpu-check.tar.xz"], timeout_s=480)
# Each step has its own time limit (tests 180 s, benchmark 240 s; killed 10 s after that if they do
# not stop), so the whole script ends within about 7.5 minutes and leaves no process behind.
# Exit status: that of the tests (the benchmark's own failures are printed, not fatal).
set -uo pipefail
cd "$(dirname "$0")/../.."
tarball_default=artifacts/xlmedge-gpu-check.tar.xz

if [ "${1:-}" = "pack" ]; then
  set -e
  out=${2:-$tarball_default}
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  # JIT, self-contained, not trimmed: ILGPU reads IL at run time (no Native AOT, no trimming)
  dotnet publish tests/XlmEdge.Gpu.Tests -c Release -r linux-x64 --self-contained -p:PublishTrimmed=false \
    -p:DebugType=none -p:GenerateDocumentationFile=false -o "$stage/xlmedge-gpu-check/app" --nologo -v quiet
  # the tests find tests/fixtures by walking up from the binary
  for f in tiny-enfr other-geometry xlm-family/tiny-enro xlm-family/tiny-clm-enfr; do
    mkdir -p "$stage/xlmedge-gpu-check/tests/fixtures/$f"
    for name in config.json vocab.json merges.txt tokenizer_config.json model.safetensors goldens.json; do
      [ -f "tests/fixtures/$f/$name" ] && cp "tests/fixtures/$f/$name" "$stage/xlmedge-gpu-check/tests/fixtures/$f/"
    done
  done
  mkdir -p "$(dirname "$out")"
  tar -C "$stage" -cf - xlmedge-gpu-check | xz -9 -T0 > "$out"
  size=$(stat -c %s "$out")
  echo "payload: $out, $((size / 1024 / 1024)) MiB ($size bytes)"
  [ "$size" -lt $((64 * 1024 * 1024)) ] || { echo "error: the payload is over 64 MiB" >&2; exit 1; }
  exit 0
fi

tarball=${1:-$tarball_default}
[ -f "$tarball" ] || { echo "error: $tarball is missing; make it with '$0 pack' where the .NET SDK is" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xJf "$tarball"
app="$work/xlmedge-gpu-check/app/XlmEdge.Gpu.Tests"

echo "== machine"
date -u
uname -a
grep -m1 'model name' /proc/cpuinfo; nproc
free -g | head -2
command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
echo "CUDA libraries the loader knows:"
ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas\.so|libnvrtc' || echo "  (none listed by ldconfig)"
# .NET uses ICU when the system has it; without it the runtime must be told to run invariant
if ! ldconfig -p 2>/dev/null | grep -q libicuuc; then
  echo "no libicu: running with DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
fi

echo
echo "== what ILGPU sees"
timeout -k 10 60 "$app" probe || { echo "error: no CUDA device the GPU backend can use; nothing more to check"; exit 1; }

echo
echo "== tests on CUDA (goldens with the CPU path's bounds, every device op against its scalar twin, errors)"
XLMEDGE_GPU_TESTS=cuda timeout -k 10 180 "$app" test
status=$?
echo "tests exit status: $status"

echo
echo "== GPU benchmark (enfr-1024 geometry, random fp16 weights; CPU path with 2 threads = the issue's 2-core baseline)"
XLMEDGE_GPU_TESTS=cuda timeout -k 10 240 "$app" bench --cpu-threads 2 --work "$work"
echo "benchmark exit status: $?"

exit $status
