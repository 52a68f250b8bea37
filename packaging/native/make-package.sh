#!/usr/bin/env bash
# Builds the native package of the C library:
#   artifacts/xlmedge-VERSION-RID.tar.gz
#     lib/libxlmedge.so.VERSION, lib/libxlmedge.so.ABI (the SONAME), lib/libxlmedge.so
#     lib/libxlmedge-v4.so, lib/libxlmedge-v3.so  (x64: the two builds; libxlmedge.so.VERSION is the shim
#                                                  that loads the one this CPU runs, src/X64Dispatch)
#     include/xlmedge.h
#     lib/pkgconfig/xlmedge.pc                    pkg-config --cflags --libs xlmedge
#     lib/cmake/xlmedge/xlmedge-config.cmake      find_package(xlmedge) -> xlmedge::xlmedge
#     share/doc/xlmedge/{LICENSE,README.md}
# The files are relocatable: extract into any prefix (tar -xzf ... -C PREFIX --strip-components=1).
# usage: packaging/native/make-package.sh [RID]      (default linux-x64; linux-arm64 on an arm64 machine,
#        or on x64 with a cross linker: -p:CppCompilerAndLinker=... as the ARM64 CI leg does)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rid=${1:-linux-x64}

# The instruction-set baselines are Directory.Build.targets' (x64: x86-64-v4 and x86-64-v3 behind a shim;
# arm64: ARMv8.0-A), the same as the console's. IlcInstructionSet=... in the environment publishes one
# build of that baseline instead (MSBuild reads environment variables as properties).
dotnet publish "$root/src/XlmEdge.Native" -c Release -r "$rid" -p:TreatWarningsAsErrors=true >&2
version=$(dotnet msbuild "$root/src/XlmEdge.Native" -getProperty:Version)
abi=$(dotnet msbuild "$root/src/XlmEdge.Native" -getProperty:XlmEdgeAbiVersion)
publish="$root/src/XlmEdge.Native/bin/Release/net10.0/$rid/publish"

name="xlmedge-$version-$rid"
stage="$root/artifacts/native/$name"
rm -rf "$stage"
mkdir -p "$stage/lib/pkgconfig" "$stage/lib/cmake/xlmedge" "$stage/include" "$stage/share/doc/xlmedge"
install -m 0755 "$publish/libxlmedge.so" "$stage/lib/libxlmedge.so.$version"
ln -s "libxlmedge.so.$version" "$stage/lib/libxlmedge.so.$abi"
ln -s "libxlmedge.so.$abi" "$stage/lib/libxlmedge.so"
for build in "$publish"/libxlmedge-v[34].so; do
  if [ -e "$build" ]; then install -m 0755 "$build" "$stage/lib/"; fi
done
install -m 0644 "$root/src/XlmEdge.Native/include/xlmedge.h" "$stage/include/xlmedge.h"
install -m 0644 "$root/LICENSE" "$stage/share/doc/xlmedge/LICENSE"
install -m 0644 "$root/packaging/native/README.md" "$stage/share/doc/xlmedge/README.md"

cat > "$stage/lib/pkgconfig/xlmedge.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: xlmedge
Description: XLM masked-language model (fill-mask) on the CPU, C API
Version: $version
Libs: -L\${libdir} -lxlmedge
Libs.private: -lm -ldl -lpthread
Cflags: -I\${includedir}
PC

cat > "$stage/lib/cmake/xlmedge/xlmedge-config.cmake" <<CMAKE
# find_package(xlmedge) -> the imported target xlmedge::xlmedge (library + include directory).
get_filename_component(_xlmedge_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET xlmedge::xlmedge)
  add_library(xlmedge::xlmedge SHARED IMPORTED)
  set_target_properties(xlmedge::xlmedge PROPERTIES
    IMPORTED_LOCATION "\${_xlmedge_prefix}/lib/libxlmedge.so.$abi"
    IMPORTED_SONAME "libxlmedge.so.$abi"
    INTERFACE_INCLUDE_DIRECTORIES "\${_xlmedge_prefix}/include")
endif()
set(xlmedge_VERSION "$version")
set(xlmedge_ABI_VERSION "$abi")
unset(_xlmedge_prefix)
CMAKE

cat > "$stage/lib/cmake/xlmedge/xlmedge-config-version.cmake" <<CMAKE
# Compatible with a request for the same major version (for 0.x: the same minor) at or below this one.
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  if(PACKAGE_FIND_VERSION_MAJOR EQUAL "${version%%.*}")
    if(NOT PACKAGE_FIND_VERSION_MAJOR EQUAL 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL "$(echo "$version" | cut -d. -f2)")
      set(PACKAGE_VERSION_COMPATIBLE TRUE)
    endif()
  endif()
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
CMAKE

tar -czf "$root/artifacts/$name.tar.gz" -C "$root/artifacts/native" "$name"
echo "$root/artifacts/$name.tar.gz"
