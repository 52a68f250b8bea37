#!/usr/bin/env bash
# Peak RSS of the same program (Program.cs: the benchmark's cases through the public API, a few calls
# each) on this checkout's library and on an earlier commit's, on this machine:
#   tests/XlmEdge.Benchmarks/rss-compare/compare-rss.sh REV OLD.gguf NEW.gguf [CALLS]
# OLD.gguf must be a file REV's library reads (pack it with REV's weights tool); NEW.gguf one this
# checkout's reads. The benchmark's own sweep process also holds its results and a JIT event listener,
# so its peak RSS is higher than this program's and is compared only with itself.
set -euo pipefail
rev=$1 old_model=$2 new_model=$3 calls=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add -q --detach "$work/old" "$rev"
build() {  # build NAME LIBRARY_SOURCE_ROOT
  mkdir -p "$work/$1"
  cp "$here/Program.cs" "$work/$1/"
  cat >"$work/$1/rss.csproj" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
  <ItemGroup><ProjectReference Include="$2/src/XlmEdge/XlmEdge.csproj" /></ItemGroup>
</Project>
PROJ
  dotnet build "$work/$1" -c Release -v quiet -nologo >/dev/null
}
build app-old "$work/old"
build app-new "$root"
for round in 1 2; do
  echo "round $round: $rev: $(dotnet "$work/app-old/bin/Release/net10.0/rss.dll" "$old_model" "$calls")"
  echo "round $round: this checkout: $(dotnet "$work/app-new/bin/Release/net10.0/rss.dll" "$new_model" "$calls")"
done
