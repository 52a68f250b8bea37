#!/usr/bin/env bash
# The C API tests (test_c_api.c), built against an installed native package through pkg-config and
# run under valgrind: any failed check or any definitely lost block fails.
# usage: tests/c-api/run.sh PREFIX MODEL.gguf CLM_MODEL.gguf XLMEDGE_WEIGHTS_COMMAND...
#   PREFIX: where the package from packaging/native/make-package.sh was extracted
#   MODEL: a masked model (fill-mask); CLM_MODEL: a causal one (generate, score)
#   the weights command (e.g. "dotnet path/xlmedge-weights.dll") finds a tensor offset for the NaN copies
set -euo pipefail
prefix=$1 model=$2 clm=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

cc -std=c11 -Wall -Wextra -Werror -O1 -g "$here/test_c_api.c" -o "$work/test_c_api" \
  $(pkg-config --cflags --libs xlmedge) -Wl,-rpath,"$(pkg-config --variable=libdir xlmedge)" -lpthread -lm

# Copies of the models with one NaN weight (a file changed after packing): fill-mask, generation and
# scoring must refuse them.
poison() {
  cp "$1" "$2"
  local offset
  offset=$("${weights[@]}" inspect "$2" | awk '$1 == "transformer.layer_norm_emb.weight" { print $4 }')
  [[ -n "$offset" ]] || { echo "error: no transformer.layer_norm_emb.weight in $1" >&2; exit 1; }
  printf '\x00\x00\xc0\x7f' | dd of="$2" bs=1 seek="$offset" conv=notrunc status=none
}
weights=("$@")
poison "$model" "$work/nan.gguf"
poison "$clm" "$work/nan-clm.gguf"

valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --error-exitcode=99 "$work/test_c_api" "$model" "$work/nan.gguf" "$clm" "$work/nan-clm.gguf"
