#!/usr/bin/env bash
# Packs a random-weight checkpoint of every released XLM geometry (the presets in
# src/XlmEdge/Model/Presets) and runs it with the console: fill-mask for the masked models,
# generate and score for the causal ones. The checkpoints are shaped like the hub's: the
# languages and ids of each model's config, no language names for xlm-mlm-en-2048, and no
# "causal" in the config of the xlm-clm-* models (packed with --causal).
#
#   tests/family/check-released-geometries.sh [--keep] [WORK_DIR] [PRESET_NAME...]
#
# Needs /usr/bin/python3 with numpy (Debian python3-numpy) for the checkpoint maker of the
# benchmark (tests/XlmEdge.Benchmarks/python/make_checkpoint.py), and about 4 GB of free disk in
# WORK_DIR (one checkpoint and its .gguf at a time; removed after each unless --keep). Writes one
# line per preset and a summary table to WORK_DIR/results.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
maker="$root/tests/XlmEdge.Benchmarks/python/make_checkpoint.py"

keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
work="${1:-$root/tests/family/work}"
shift || true
mkdir -p "$work"

"$py" -c "import numpy" 2>/dev/null || { echo "error: $py has no numpy (apt-get install python3-numpy)" >&2; exit 1; }
dotnet build "$root/weights-tool/XlmEdge.WeightsTool" -c Release -v quiet -nologo >/dev/null
dotnet build "$root/src/XlmEdge.Cli" -c Release -v quiet -nologo >/dev/null
weights="dotnet $root/weights-tool/XlmEdge.WeightsTool/bin/Release/net10.0/xlmedge-weights.dll"
xlmedge="dotnet $root/src/XlmEdge.Cli/bin/Release/net10.0/XlmEdge.Cli.dll"

# Each checkpoint's languages in id order, as its hub config names them ("-" for none).
languages() {
  case "$1" in
    xlm-mlm-enfr-1024|xlm-clm-enfr-1024) echo "en,fr" ;;
    xlm-mlm-ende-1024|xlm-clm-ende-1024) echo "de,en" ;;
    xlm-mlm-enro-1024) echo "en,ro" ;;
    xlm-mlm-en-2048) echo "-" ;;
    xlm-mlm-xnli15-1024|xlm-mlm-tlm-xnli15-1024) echo "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh" ;;
    xlm-mlm-17-1280) echo "ar,de,en,es,fr,hi,it,ja,ko,nl,pl,pt,ru,sv,tr,vi,zh" ;;
    xlm-mlm-100-1280) echo "af,als,am,an,ang,ar,arz,ast,az,bar,be,bg,bn,br,bs,ca,ceb,ckb,cs,cy,da,de,el,en,eo,es,et,eu,fa,fi,fr,fy,ga,gan,gl,gu,he,hi,hr,hu,hy,ia,id,is,it,ja,jv,ka,kk,kn,ko,ku,la,lb,lt,lv,mk,ml,mn,mr,ms,my,nds,ne,nl,nn,no,oc,pl,pt,ro,ru,scn,sco,sh,si,simple,sk,sl,sq,sr,sv,sw,ta,te,th,tl,tr,tt,uk,ur,uz,vi,war,wuu,yi,zh,zh_classical,zh_min_nan,zh_yue" ;;
    *) echo "?" ;;
  esac
}

presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
  for f in "$root"/src/XlmEdge/Model/Presets/xlm-*.xlm.json; do presets+=("$(basename "$f" .xlm.json)"); done
fi

results="$work/results.md"
echo "| preset | parameters | .gguf bytes | make s | pack s | run s | result |" > "$results"
echo "| --- | --- | --- | --- | --- | --- | --- |" >> "$results"
status=0
for name in "${presets[@]}"; do
  json="$root/src/XlmEdge/Model/Presets/$name.xlm.json"
  [ -f "$json" ] || { echo "error: no preset $name" >&2; exit 2; }
  read -r d heads layers vocab langemb causal < <("$py" -c "
import json, sys
p = json.load(open(sys.argv[1]))
print(p['emb_dim'], p['n_heads'], p['n_layers'], p['vocab_size'], int(p['use_lang_emb']), int(p.get('causal', False)))" "$json")
  langs="$(languages "$name")"
  ckpt="$work/$name"; gguf="$work/$name.gguf"
  rm -rf "$ckpt" "$gguf"

  t0=$(date +%s.%N)
  args=(--emb-dim "$d" --n-heads "$heads" --n-layers "$layers" --vocab-size "$vocab" --vocab-dir "$root/tests/fixtures/tiny-enfr" --seed 1 --out "$ckpt")
  if [ "$langs" = "-" ]; then args+=(--langs en); else args+=(--langs "$langs"); fi
  [ "$langemb" = 1 ] || args+=(--no-lang-emb)
  PYTHONDONTWRITEBYTECODE=1 "$py" "$maker" "${args[@]}" > "$work/$name.make.log"
  # As on the hub: en-2048 names no language; the clm configs do not say "causal".
  "$py" - "$ckpt" "$langs" <<'PY'
import json, os, sys
ckpt, langs = sys.argv[1], sys.argv[2]
for name in ("config.json", "tokenizer_config.json"):
    path = os.path.join(ckpt, name)
    c = json.load(open(path))
    if langs == "-":
        c.pop("lang2id", None); c.pop("id2lang", None)
    c.pop("causal", None)
    json.dump(c, open(path, "w"), indent=2)
PY
  params=$(grep -o '[0-9.]* M parameters' "$work/$name.make.log" || echo "?")
  t1=$(date +%s.%N)
  pack=(pack "$ckpt" -o "$gguf")
  [ "$causal" = 1 ] && pack+=(--causal)
  $weights "${pack[@]}" > "$work/$name.pack.log" 2>&1
  [ "$keep" = 1 ] || rm -rf "$ckpt"
  t2=$(date +%s.%N)

  lang="$(echo "${langs/-/en}" | tr ',' '\n' | grep -vx -e zh -e th -e ja | tail -1)"
  ok=1
  if [ "$causal" = 1 ]; then
    $xlmedge generate -m "$gguf" --lang "$lang" --max-tokens 8 "the cat" > "$work/$name.run.log" 2>&1 || ok=0
    $xlmedge score -m "$gguf" --lang "$lang" "the cat sat on the mat ." >> "$work/$name.run.log" 2>&1 || ok=0
  else
    $xlmedge fill-mask -m "$gguf" --lang "$lang" "the cat sat on the <special1> ." > "$work/$name.run.log" 2>&1 || ok=0
  fi
  # zh/th/ja text is one error line (exit 1), the model still loads for the other languages.
  for refused in zh th ja; do
    if echo ",$langs," | grep -q ",$refused,"; then
      set +e
      out="$($xlmedge tokenize -m "$gguf" --lang "$refused" "x" 2>&1)"; rc=$?
      set -e
      if [ "$rc" != 1 ] || [ "$(echo "$out" | wc -l)" != 1 ] || ! echo "$out" | grep -q "^error: unsupported language '$refused'"; then ok=0; fi
      echo "$refused: $out" >> "$work/$name.run.log"
    fi
  done
  t3=$(date +%s.%N)
  size=$(stat -c %s "$gguf")
  [ "$keep" = 1 ] || rm -f "$gguf"
  result=$([ "$ok" = 1 ] && echo ok || echo FAILED)
  [ "$ok" = 1 ] || status=1
  awk -v n="$name" -v p="${params% parameters}" -v s="$size" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v r="$result" \
    'BEGIN { printf "| %s | %s | %s | %.0f | %.0f | %.1f | %s |\n", n, p, s, b - a, c - b, d - c, r }' >> "$results"
  echo "$name: $result (lang $lang; logs in $work/$name.*.log)"
done
cat "$results"
exit $status
