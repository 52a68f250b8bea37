#!/usr/bin/env python3
"""Makes a random HF-format XLMWithLMHeadModel checkpoint folder at any XLM geometry.

  make_checkpoint.py --geometry enfr-1024 --vocab-dir tests/fixtures/tiny-enfr --seed 1 --out DIR
  make_checkpoint.py --emb-dim 256 --n-heads 4 --n-layers 3 --langs en,fr,de --vocab-dir V --seed 2 --out DIR

Writes config.json, tokenizer_config.json, vocab.json and merges.txt (from --vocab-dir; the
vocabulary padded with <fillNNNNN> entries when the geometry's vocab_size is larger), and the
weights as model.safetensors (default) and/or pytorch_model.bin (--format; the .bin needs
python3-torch and ties pred_layer.proj.weight to transformer.embeddings.weight, as HF saves it).

Weights: numpy PCG64 seeded with --seed, drawn in HF's state-dict order, each N(0, std^2)
(xlm_checkpoint.init_std says which std and why), rounded to fp16-representable values and
stored as float32: packing to fp16 loses nothing, so every engine computes the same function.
Latency does not depend on the values, so timings hold for a trained checkpoint.
"""
import argparse
import collections
import json
import os
import shutil

import xlm_checkpoint as xc


def padded_vocabulary(vocab_dir, size):
    with open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f, object_pairs_hook=collections.OrderedDict)
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise SystemExit("error: %s/vocab.json: ids are not 0..n-1" % vocab_dir)
    if size is not None:
        if size < len(vocab):
            raise SystemExit("error: vocab_size %d is smaller than the %d entries of %s/vocab.json" % (size, len(vocab), vocab_dir))
        for k in range(size - len(vocab)):
            vocab["<fill%05d>" % k] = len(vocab)
    return vocab


def tokenizer_config(cfg):
    return collections.OrderedDict([
        ("tokenizer_class", "XLMTokenizer"), ("do_lowercase_and_remove_accent", True),
        ("lang2id", cfg["lang2id"]), ("id2lang", cfg["id2lang"]), ("model_max_length", cfg["max_position_embeddings"]),
        ("unk_token", "<unk>"), ("bos_token", "<s>"), ("sep_token", "</s>"), ("pad_token", "<pad>"),
        ("cls_token", "</s>"), ("mask_token", "<special1>"),
        ("additional_special_tokens", ["<special%d>" % i for i in range(10)]),
    ])


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, indent=2) + "\n")


def save_torch_bin(weights, path):
    import numpy as np
    import torch
    state = collections.OrderedDict((k, torch.from_numpy(np.ascontiguousarray(v))) for k, v in weights.items())
    ordered = collections.OrderedDict()
    for k, v in state.items():
        if k == "pred_layer.proj.bias":
            ordered["pred_layer.proj.weight"] = state["transformer.embeddings.weight"]  # tied: one storage
        ordered[k] = v
    torch.save(ordered, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--geometry", choices=sorted(xc.GEOMETRIES), help="a known geometry (or give the sizes below)")
    ap.add_argument("--emb-dim", type=int)
    ap.add_argument("--n-heads", type=int)
    ap.add_argument("--n-layers", type=int)
    ap.add_argument("--langs", help="comma-separated language codes, ids in that order")
    ap.add_argument("--vocab-size", type=int, help="pad the vocabulary to this many entries")
    ap.add_argument("--no-lang-emb", action="store_true", help="use_lang_emb false")
    ap.add_argument("--causal", action="store_true", help='config "causal": true (a CLM checkpoint; weights are drawn alike)')
    ap.add_argument("--vocab-dir", required=True, help="folder with vocab.json and merges.txt")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--format", default="safetensors", choices=["safetensors", "bin", "both"])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    g = dict(xc.GEOMETRIES[a.geometry]) if a.geometry else {}
    for key, value in (("emb_dim", a.emb_dim), ("n_heads", a.n_heads), ("n_layers", a.n_layers),
                       ("langs", tuple(a.langs.split(",")) if a.langs else None), ("vocab_size", a.vocab_size)):
        if value is not None:
            g[key] = value
    missing = [k for k in ("emb_dim", "n_heads", "n_layers", "langs") if k not in g]
    if missing:
        raise SystemExit("error: give --geometry or --%s" % " --".join(m.replace("_", "-") for m in missing))
    if g["emb_dim"] % g["n_heads"] != 0:
        raise SystemExit("error: emb_dim %d is not a multiple of n_heads %d" % (g["emb_dim"], g["n_heads"]))

    vocab = padded_vocabulary(a.vocab_dir, g.get("vocab_size"))
    cfg = xc.make_config(g["emb_dim"], g["n_heads"], g["n_layers"], g["langs"], len(vocab),
                         use_lang_emb=not a.no_lang_emb, causal=a.causal)
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "config.json"), cfg)
    write_json(os.path.join(a.out, "tokenizer_config.json"), tokenizer_config(cfg))
    write_json(os.path.join(a.out, "vocab.json"), vocab)
    shutil.copyfile(os.path.join(a.vocab_dir, "merges.txt"), os.path.join(a.out, "merges.txt"))

    weights = xc.random_weights(cfg, a.seed)
    if a.format in ("safetensors", "both"):
        xc.write_safetensors(weights, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    if a.format in ("bin", "both"):
        save_torch_bin(weights, os.path.join(a.out, "pytorch_model.bin"))
    print("wrote %s: vocab %d, d %d, %d layers, %d heads, languages %s, %.1f M parameters, seed %d"
          % (a.out, len(vocab), cfg["emb_dim"], cfg["n_layers"], cfg["n_heads"], ",".join(g["langs"]),
             sum(w.size for w in weights.values()) / 1e6, a.seed))


if __name__ == "__main__":
    main()
