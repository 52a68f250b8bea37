#!/usr/bin/env bash
# Puts the two x64 builds and their dispatcher into a publish folder (run by Directory.Build.targets
# after `dotnet publish -r linux-x64` of the console or the C library):
#   launcher: xlmedge-v3, xlmedge-v4, and xlmedge = launcher.c
#   shim:     libxlmedge-v3.so, libxlmedge-v4.so, and libxlmedge.so = shim.c with the forwarders generated
#             from xlmedge.h; its exported functions are checked against the builds'.
# usage: assemble.sh launcher|shim PUBLISH_DIR V3_BINARY V4_BINARY WORK_DIR [CC]
set -euo pipefail
kind=$1 publish=$2 v3=$3 v4=$4 work=$5 cc=${6:-cc}
here=$(cd "$(dirname "$0")" && pwd)
include="$here/../XlmEdge.Native/include"
flags=(-std=gnu11 -O2 -Wall -Wextra -Werror -I"$here")
mkdir -p "$work"
case $kind in
launcher)
    install -m 0755 "$v3" "$publish/xlmedge-v3"
    install -m 0755 "$v4" "$publish/xlmedge-v4"
    # The AOT binary under its assembly name (and the copy named xlmedge): the launcher replaces both.
    rm -f "$publish/$(basename "$v3")"
    "$cc" "${flags[@]}" -o "$publish/xlmedge" "$here/launcher.c"
    ;;
shim)
    install -m 0755 "$v3" "$publish/libxlmedge-v3.so"
    install -m 0755 "$v4" "$publish/libxlmedge-v4.so"
    bash "$here/gen-forwarders.sh" "$include/xlmedge.h" > "$work/xlmedge-forwarders.inc"
    abi=$(sed -n 's/^#define XLMEDGE_ABI_VERSION \([0-9]*\).*/\1/p' "$include/xlmedge.h")
    # The builds' symbol version (Native AOT's export script names it V1.0): programs linked against
    # either ask for xlmedge_open@V1.0 and the like, so the shim defines the same.
    version=$(nm -D --defined-only "$publish/libxlmedge-v3.so" | sed -n 's/.* xlmedge_version@@\(.*\)$/\1/p')
    { echo "${version:-V1.0} { global:"; sed -n 's/^XLMEDGE_FORWARD(.*, \(xlmedge_[a-z0-9_]*\))$/  \1;/p' "$work/xlmedge-forwarders.inc"; echo "local: *; };"; } \
        > "$work/libxlmedge.map"
    "$cc" "${flags[@]}" -I"$work" -I"$include" -shared -fPIC -fvisibility=hidden -Wl,-soname,"libxlmedge.so.$abi" \
        -Wl,--version-script="$work/libxlmedge.map" -o "$publish/libxlmedge.so" "$here/shim.c" -ldl
    exports() { nm -D --defined-only "$1" | awk '$3 ~ /^xlmedge_/ { print $3 }' | sort; }
    for build in "$publish/libxlmedge-v3.so" "$publish/libxlmedge-v4.so"; do
        if ! diff <(exports "$build") <(exports "$publish/libxlmedge.so") >&2; then
            echo "error: the shim libxlmedge.so does not export what $(basename "$build") does (< the build, > the shim): is every export declared in xlmedge.h?" >&2
            exit 1
        fi
    done
    ;;
*)
    echo "usage: assemble.sh launcher|shim PUBLISH_DIR V3_BINARY V4_BINARY WORK_DIR [CC]" >&2
    exit 2
    ;;
esac
