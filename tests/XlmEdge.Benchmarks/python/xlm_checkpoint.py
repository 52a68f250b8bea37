"""The benchmark's view of an HF XLMWithLMHeadModel checkpoint folder, with numpy only.

What is here: the geometries the benchmark knows, the HF state-dict names and shapes of a
geometry, seeded random weights that are exactly representable in fp16, and reading and
writing of config.json, vocab.json, merges.txt and model.safetensors.  make_checkpoint.py,
export_onnx.py and xlm_torch.py build on it.

safetensors, as read and written here: an unsigned 64-bit little-endian header length N, N
bytes of JSON ({"__metadata__": {...}, name: {"dtype", "shape", "data_offsets": [begin, end]}},
offsets counted from the first byte after the header), then the raw little-endian tensors.
"""
import collections
import json
import os
import struct

import numpy as np

# name -> emb_dim, n_heads, n_layers, languages, fixed vocabulary size (None: the vocab file's)
GEOMETRIES = {
    "tiny-enfr": dict(emb_dim=64, n_heads=4, n_layers=2, langs=("en", "fr"), vocab_size=None),
    # xlm-mlm-enfr-1024 (and xlm-clm-enfr-1024): FFN 4096, 512 positions, 64139 vocabulary entries
    "enfr-1024": dict(emb_dim=1024, n_heads=8, n_layers=6, langs=("en", "fr"), vocab_size=64139),
}

# Special ids of every XLM vocabulary: <s> </s> <pad> <unk> <special0> ... <special9>.
BOS, EOS, PAD, UNK, MASK = 0, 1, 2, 3, 5


def make_config(emb_dim, n_heads, n_layers, langs, vocab_size, use_lang_emb=True, causal=False):
    """config.json of XLMWithLMHeadModel with HF XLMConfig's field names."""
    lang2id = collections.OrderedDict((lang, i) for i, lang in enumerate(langs))
    return collections.OrderedDict([
        ("architectures", ["XLMWithLMHeadModel"]), ("model_type", "xlm"),
        ("vocab_size", vocab_size), ("emb_dim", emb_dim), ("n_layers", n_layers), ("n_heads", n_heads),
        ("n_langs", len(langs)), ("use_lang_emb", bool(use_lang_emb)),
        ("max_position_embeddings", 512), ("layer_norm_eps", 1e-12),
        ("gelu_activation", True), ("sinusoidal_embeddings", False), ("causal", bool(causal)), ("asm", False),
        ("dropout", 0.1), ("attention_dropout", 0.1), ("is_encoder", True), ("share_inout_emb", True),
        ("embed_init_std", emb_dim ** -0.5), ("init_std", 0.02),
        ("bos_index", BOS), ("eos_index", EOS), ("pad_index", PAD), ("unk_index", UNK), ("mask_index", MASK),
        ("pad_token_id", PAD), ("bos_token_id", BOS),
        ("lang2id", lang2id), ("id2lang", collections.OrderedDict((str(i), lang) for lang, i in lang2id.items())),
    ])


def has_lang_embeddings(cfg):
    """HF builds lang_embeddings only for several languages with use_lang_emb."""
    return cfg["n_langs"] > 1 and cfg.get("use_lang_emb", True)


def tensor_shapes(cfg):
    """HF state-dict names and shapes in HF's order, without the tied pred_layer.proj.weight."""
    d, v = cfg["emb_dim"], cfg["vocab_size"]
    ffn = 4 * d
    shapes = collections.OrderedDict()
    shapes["transformer.position_embeddings.weight"] = (cfg.get("max_position_embeddings", 512), d)
    if has_lang_embeddings(cfg):
        shapes["transformer.lang_embeddings.weight"] = (cfg["n_langs"], d)
    shapes["transformer.embeddings.weight"] = (v, d)
    shapes["transformer.layer_norm_emb.weight"] = (d,)
    shapes["transformer.layer_norm_emb.bias"] = (d,)
    for i in range(cfg["n_layers"]):
        for lin in ("q_lin", "k_lin", "v_lin", "out_lin"):
            shapes["transformer.attentions.%d.%s.weight" % (i, lin)] = (d, d)
            shapes["transformer.attentions.%d.%s.bias" % (i, lin)] = (d,)
        shapes["transformer.layer_norm1.%d.weight" % i] = (d,)
        shapes["transformer.layer_norm1.%d.bias" % i] = (d,)
        shapes["transformer.ffns.%d.lin1.weight" % i] = (ffn, d)
        shapes["transformer.ffns.%d.lin1.bias" % i] = (ffn,)
        shapes["transformer.ffns.%d.lin2.weight" % i] = (d, ffn)
        shapes["transformer.ffns.%d.lin2.bias" % i] = (d,)
        shapes["transformer.layer_norm2.%d.weight" % i] = (d,)
        shapes["transformer.layer_norm2.%d.bias" % i] = (d,)
    shapes["pred_layer.proj.bias"] = (v,)
    return shapes


def init_std(name, shape):
    """Standard deviation of a weight's normal distribution (layer-norm weights: 1 + that).

    Linear weights are scaled by fan-in, not XLM's std 0.02: with 0.02 the attention of a
    random model is nearly uniform and every block is almost the identity, so a wrong head
    split or a dropped bias moves the logits by less than a tolerance can see.  q and k get
    1.2x so the softmax is far from flat.  Token and position embeddings get 0.1: after the
    embedding layer norm the scale only sets the spread of the logits (h E^T), which at 0.1
    is a few units, as in a trained model's fill-mask output.
    """
    if name.endswith("embeddings.weight"):
        return 0.1
    if "layer_norm" in name or name.endswith(".bias"):
        return 0.1 if name.endswith(".weight") else 0.02
    fan_in = shape[1]
    return (1.2 if name.split(".")[-2] in ("q_lin", "k_lin") else 1.0) / np.sqrt(fan_in)


def random_weights(cfg, seed):
    """Seeded N(0, std^2) weights in HF order, rounded to fp16-representable values, as float32."""
    rng = np.random.Generator(np.random.PCG64(seed))
    weights = collections.OrderedDict()
    for name, shape in tensor_shapes(cfg).items():
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(init_std(name, shape))
        if "layer_norm" in name and name.endswith(".weight"):
            w += np.float32(1.0)
        weights[name] = w.astype(np.float16).astype(np.float32)
    return weights


_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def write_safetensors(tensors, path, metadata=None):
    header, offset = collections.OrderedDict(), 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        if t.dtype != np.float32:
            raise ValueError("%s: only float32 tensors are written" % name)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # tensors start 8-byte aligned
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for t in tensors.values():
            f.write(np.ascontiguousarray(t, dtype="<f4").tobytes())
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    """name -> float32 array (F32 tensors are read-only views of the mapped file; F16 and BF16 widened copies)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)  # read-only, from the page cache
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(data, dtype="<u2", count=(end - begin) // 2, offset=begin).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info["dtype"] in _DTYPES:
            dtype = np.dtype(_DTYPES[info["dtype"]])
            arr = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin).astype(np.float32, copy=False)
        else:
            raise ValueError("%s: dtype %s not supported" % (name, info["dtype"]))
        out[name] = arr.reshape(info["shape"])
    return out


def read_config(folder):
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def read_weights(folder):
    """The checkpoint's float32 weights by HF name, tied projection not included."""
    path = os.path.join(folder, "model.safetensors")
    if os.path.exists(path):
        weights = read_safetensors(path)
    else:
        import torch  # pytorch_model.bin is a torch pickle: only torch reads it faithfully
        state = torch.load(os.path.join(folder, "pytorch_model.bin"), map_location="cpu")
        weights = collections.OrderedDict((k, v.float().numpy()) for k, v in state.items())
    weights.pop("pred_layer.proj.weight", None)
    cfg = read_config(folder)
    for name, shape in tensor_shapes(cfg).items():
        if name not in weights or tuple(weights[name].shape) != tuple(shape):
            raise ValueError("%s: %s missing or not of shape %s" % (folder, name, shape))
    return weights
