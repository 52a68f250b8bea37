#!/usr/bin/env bash
# Packaging acceptance (issue #14), as each kind of user installs XlmEdge; run by .ci/run after the tests.
#  1. the native tarball installs into a prefix; the C sample builds with pkg-config and the C++ sample
#     with find_package(xlmedge), both against the prefix, and fill-mask runs at d = 512 on vector kernels;
#  2. the C API tests run under valgrind (every function with bad arguments, closed handles, no definite leak);
#  3. `dotnet pack` makes a local feed; new net10.0 and net8.0 console projects restore XlmEdge from it and run fill-mask;
#  4. `dotnet tool install --add-source` installs xlmedge and xlmedge-weights; `xlmedge --version` prints what
#     xlmedge_version() returns.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
for tool in pkg-config cmake valgrind c++; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config cmake valgrind g++
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { echo "== packaging: $* ($(date +%T))"; }

step "native tarball"
tarball=$(packaging/native/make-package.sh linux-x64 | tail -n 1)
prefix=$work/prefix
mkdir -p "$prefix"
tar -xzf "$tarball" -C "$prefix" --strip-components=1
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[[ $(readelf -d "$prefix/lib/libxlmedge.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p') == libxlmedge.so.1 ]]

step "a random checkpoint at d = 512, packed"
dotnet build tests/XlmEdge.ModelMaker -c Release -v quiet -nologo
dotnet build weights-tool/XlmEdge.WeightsTool -c Release -v quiet -nologo
weights=(dotnet "$root/weights-tool/XlmEdge.WeightsTool/bin/Release/net10.0/xlmedge-weights.dll")
dotnet tests/XlmEdge.ModelMaker/bin/Release/net10.0/XlmEdge.ModelMaker.dll tests/fixtures/tiny-enfr "$work/ckpt-512" 512 2 8
"${weights[@]}" pack "$work/ckpt-512" -o "$work/d512.gguf" 2>/dev/null

step "C sample through pkg-config"
make -s -C samples/c clean
make -s -C samples/c run FROM=package MODEL="$work/d512.gguf" | tee "$work/c.out"
lib_version=$(sed -n 's/^libxlmedge \([^ ]*\) .*/\1/p' "$work/c.out")
if [[ $(uname -m) == x86_64 ]]; then
  # The package's shim loads the widest of its two builds (avx512 or avx2+fma), or the x86-64-v3 one when told.
  widest=$(.ci/x64-dispatch --widest)
  { grep -q "^libxlmedge .*\"simd\":\"$widest\"" "$work/c.out" && grep -q '^model: weights f16, d=512,' "$work/c.out"; } \
    || { echo "error: the packaged library does not run the $widest kernels at d = 512" >&2; exit 1; }
  v3=$(XLMEDGE_X64_LEVEL=v3 make -s -C samples/c run FROM=package MODEL="$work/d512.gguf")
  grep -q '^libxlmedge .*"simd":"avx2+fma"' <<<"$v3" || { echo "error: the packaged library with XLMEDGE_X64_LEVEL=v3 does not run the avx2+fma kernels" >&2; exit 1; }
fi
make -s -C samples/c clean

step "C++ sample through find_package(xlmedge)"
cmake -S samples/cpp -B "$work/cpp" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cpp" >/dev/null
"$work/cpp/fill_mask_cpp" "$work/d512.gguf" en "the capital of france is <special1> ."

step "C API tests under valgrind"
demo=src/XlmEdge.Cli/bin/Release/net10.0/models/demo-tiny-enfr.gguf
demo_clm=src/XlmEdge.Cli/bin/Release/net10.0/models/demo-tiny-clm-enfr.gguf
[[ -f $demo && -f $demo_clm ]] || dotnet build src/XlmEdge.Cli -c Release -v quiet -nologo
tests/c-api/run.sh "$prefix" "$demo" "$demo_clm" "${weights[@]}"

step "NuGet packages into a local feed"
feed=$work/feed
dotnet pack src/XlmEdge -c Release -o "$feed" -v quiet -nologo
dotnet pack src/XlmEdge.Cli -c Release -o "$feed" -v quiet -nologo
dotnet pack weights-tool/XlmEdge.WeightsTool -c Release -o "$feed" -v quiet -nologo
version=$(dotnet msbuild src/XlmEdge -getProperty:Version)
# A cached XlmEdge of the same version from an earlier run would hide what this build packed.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/{xlmedge,xlmedge.cli,xlmedge.weightstool}/"$version"

step "a new net10.0 app restores XlmEdge $version from the feed"
cp -r tests/consumer "$work/consumer-net10.0"
(cd "$work/consumer-net10.0" && dotnet run -c Release -p:ConsumerTargetFramework=net10.0 -p:XlmEdgeVersion="$version" \
  -p:RestoreAdditionalProjectSources="$feed" -- "$root/$demo") | tee "$work/net10.out"

step "a new net8.0 app restores XlmEdge $version from the feed"
# Published self-contained: it runs on the .NET 8 runtime it carries, whatever the machine has.
cp -r tests/consumer "$work/consumer-net8.0"
(cd "$work/consumer-net8.0" && dotnet publish -c Release -r linux-x64 --self-contained -o out -p:ConsumerTargetFramework=net8.0 \
  -p:XlmEdgeVersion="$version" -p:RestoreAdditionalProjectSources="$feed" -v quiet -nologo && ./out/Consumer "$root/$demo") | tee "$work/net8.out"
grep -q 'on .NET 8\.' "$work/net8.out"
# Both targets pick the same candidates.
[[ $(grep -o '"token":[0-9]*' "$work/net8.out") == $(grep -o '"token":[0-9]*' "$work/net10.out") ]]

step "dotnet tools from the feed"
dotnet tool install XlmEdge.Cli --version "$version" --add-source "$feed" --tool-path "$work/tools" >/dev/null
dotnet tool install XlmEdge.WeightsTool --version "$version" --add-source "$feed" --tool-path "$work/tools" >/dev/null
[[ $("$work/tools/xlmedge" --version) == "$lib_version" ]] || { echo "error: xlmedge --version is not xlmedge_version() ($lib_version)" >&2; exit 1; }
[[ $("$work/tools/xlmedge-weights" --version) == "$lib_version" ]]
"$work/tools/xlmedge" fill-mask -m "$work/d512.gguf" "the capital of france is <special1> ."
"$work/tools/xlmedge-weights" verify "$work/d512.gguf"
echo "== packaging: all checks passed ($(date +%T))"
