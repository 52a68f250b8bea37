#!/usr/bin/env python3
"""Writes an ONNX graph of an XLMWithLMHeadModel checkpoint folder, with numpy and onnx only.

  export_onnx.py CKPT --out model.onnx                    fill-mask: logits at every position
  export_onnx.py CKPT --out encoder.onnx --head encoder    the encoder alone: last hidden states
  export_onnx.py CLM --out next.onnx --head next-token     a causal LM: logits of the last position
  export_onnx.py CKPT --out int8.onnx --weights int8       any head, every matrix dynamically int8-quantized

Interface (opset 17, fp32 weights; batch and seq dynamic):
  inputs   input_ids int64 [batch, seq], langs int64 [batch, seq] (language id per position),
           attention_mask int64 [batch, seq] (1 token, 0 padding)
  output   logits float32 [batch, seq, vocab]  (--head fill-mask)
           hidden_states float32 [batch, seq, emb_dim]  (--head encoder)
           logits float32 [batch, vocab]  (--head next-token: the last position's, what a generation
           loop without a key/value cache runs once per new token on the whole sequence)
A causal checkpoint (config "causal": true) gets the causal attention mask in every head.

The graph is built node by node rather than traced from torch, so exporting the 567 MB
enfr-1024 checkpoint takes seconds and needs no python3-torch.  It has the shape
torch.onnx.export gives nn.Linear and friends, which ONNX Runtime's graph optimizer knows:
x W^T + b as MatMul (W^T stored [in, out]) + Add; LayerNormalization; GELU as
0.5 x (1 + erf(x / sqrt 2)) (fused back into one Gelu node); per-head attention as
Reshape/Transpose/MatMul/Softmax.  The tied output layer is one Gemm (transB=1) on the same
initializer as the input embedding Gather, so the embedding is stored once.  Padded positions
(mask 0) are hidden from attention and their hidden states zeroed, as in XLM.

The parts a variant replaces are separate: LINEARS (how x W^T + b is written: fp32, or
--weights int8, DynamicQuantizeLinear + MatMulInteger per matrix as ONNX Runtime's
quantize_dynamic writes it, see Int8Linears), attention_bias (a causal export adds the
key-after-query term there) and HEADS (what the graph outputs: a causal LM adds its own).
"""
import argparse
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import xlm_checkpoint as xc

OPSET = 17


class Graph:
    """Collects nodes and initializers; every op has one output named after a running counter."""

    def __init__(self):
        self.nodes, self.initializers, self._count = [], {}, 0

    def const(self, name, array):
        self.initializers[name] = np.asarray(array)
        return name

    def skeleton_tensors(self):
        """The initializers for the checker: weights without their values (the checker wants data, not all
        of it), small constants such as Reshape's shapes with theirs (shape inference reads them)."""
        protos = []
        for n, a in self.initializers.items():
            if a.nbytes <= 1024:
                protos.append(numpy_helper.from_array(a, n))
            else:
                protos.append(TensorProto(name=n, data_type=onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], dims=a.shape,
                                          raw_data=b"\0" * a.dtype.itemsize))
        return protos

    def scalar(self, value, dtype=np.float32):
        self._count += 1
        return self.const("c%d" % self._count, np.array(value, dtype=dtype))

    def op(self, op_type, *inputs, **attrs):
        return self.ops(op_type, 1, *inputs, **attrs)[0]

    def ops(self, op_type, outputs, *inputs, **attrs):
        """An op with several outputs (DynamicQuantizeLinear has three); returns their names."""
        self._count += 1
        name = "%s_%d" % (op_type.lower(), self._count)
        names = [name] if outputs == 1 else ["%s_%d" % (name, i) for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=name, **attrs))
        return names


class Fp32Linears:
    """x W^T + b in fp32, as torch.onnx.export writes nn.Linear."""

    def linear(self, g, x, name, w, bias):
        """x [..., in] -> [..., out] with w [out, in] (HF layout) and bias [out]."""
        wt = g.const(name + ".weight_t", np.ascontiguousarray(w.T))
        return g.op("Add", g.op("MatMul", x, wt), g.const(name + ".bias", bias))

    def tied_output(self, g, h2d, embedding, bias):
        """h2d [rows, d] -> [rows, vocab] against the embedding initializer [vocab, d] itself."""
        return g.op("Gemm", h2d, embedding, bias, transB=1)


class Int8Linears:
    """x W^T + b as ONNX Runtime's quantize_dynamic(weight_type=QInt8, per_channel=True) writes a MatMul:
    W symmetric int8 per output column (zero point 0, scale max|w| / 127), the activations quantized
    per call to uint8 by DynamicQuantizeLinear (one asymmetric scale over the whole tensor), then
    MatMulInteger -> Cast to float -> Mul by x_scale * w_scale -> Add bias: the chain ORT's graph optimizer
    fuses into one DynamicQuantizeMatMul (com.microsoft) node. Per column rather than quantize_dynamic's
    default per tensor, because XlmEdge's q8 scales each output row: the same weight precision on both
    sides. The tied output layer is quantized too (it is the largest matrix; quantize_dynamic would leave
    a Gemm alone): its int8 copy [d, vocab] is a separate initializer, while the embedding lookup keeps
    reading the fp32 table."""

    def _matmul(self, g, x, name, w, bias):
        scale = np.abs(w).max(axis=1).astype(np.float32) / np.float32(127)
        scale[scale == 0] = 1
        q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
        wq = g.const(name + ".weight_t_quantized", np.ascontiguousarray(q.T))
        w_zero = g.const(name + ".weight_zero_point", np.zeros(q.shape[0], dtype=np.int8))
        xq, x_scale, x_zero = g.ops("DynamicQuantizeLinear", 3, x)
        product = g.op("Cast", g.op("MatMulInteger", xq, wq, x_zero, w_zero), to=TensorProto.FLOAT)
        scales = g.op("Mul", x_scale, g.const(name + ".weight_scale", scale))
        return g.op("Add", g.op("Mul", product, scales), g.const(name + ".bias", bias))

    def linear(self, g, x, name, w, bias):
        return self._matmul(g, x, name, w, bias)

    def tied_output(self, g, h2d, embedding, bias):
        return self._matmul(g, h2d, "pred_layer.proj", g.initializers[embedding], g.initializers[bias])


# How x W^T + b is written (see the module doc).
LINEARS = {"fp32": Fp32Linears, "int8": Int8Linears}


def attention_bias(g, cfg, mask):
    """Added to the scores [batch, heads, seq, seq]: 0 for visible keys, float32 min for padding and,
    in a causal model, for keys after the query (Min, not Add: min + min would be -inf)."""
    padding = g.op("Equal", mask, g.scalar(0, np.int64))
    bias = g.op("Where", padding, g.scalar(np.finfo(np.float32).min), g.scalar(0.0))
    bias = g.op("Unsqueeze", bias, g.const("axes_1_2", np.array([1, 2], dtype=np.int64)))  # [batch, 1, 1, seq]
    if cfg.get("causal", False):
        seq = g.op("Gather", g.op("Shape", "input_ids"), g.scalar(1, np.int64), axis=0)
        positions = g.op("Range", g.scalar(0, np.int64), seq, g.scalar(1, np.int64))
        keys = g.op("Unsqueeze", positions, g.const("axes_0", np.array([0], dtype=np.int64)))     # [1, seq]
        queries = g.op("Unsqueeze", positions, g.const("axes_1", np.array([1], dtype=np.int64)))  # [seq, 1]
        future = g.op("Where", g.op("Greater", keys, queries), g.scalar(np.finfo(np.float32).min), g.scalar(0.0))
        bias = g.op("Min", bias, future)  # [batch, 1, seq, seq]
    return bias


def layer_norm(g, x, w, name, eps):
    return g.op("LayerNormalization", x, g.const(name + ".weight", w[name + ".weight"]),
                g.const(name + ".bias", w[name + ".bias"]), axis=-1, epsilon=eps)


def gelu(g, x):
    erf = g.op("Erf", g.op("Div", x, g.scalar(math.sqrt(2.0))))
    return g.op("Mul", g.op("Mul", x, g.op("Add", erf, g.scalar(1.0))), g.scalar(0.5))


def encoder(g, cfg, w, linears):
    """The XLM encoder over the three inputs; returns the last hidden states [batch, seq, d]."""
    d, heads, eps = cfg["emb_dim"], cfg["n_heads"], float(cfg.get("layer_norm_eps", 1e-12))
    head_dim = d // heads
    t = "transformer."
    seq = g.op("Gather", g.op("Shape", "input_ids"), g.scalar(1, np.int64), axis=0)
    positions = g.op("Range", g.scalar(0, np.int64), seq, g.scalar(1, np.int64))
    h = g.op("Add", g.op("Gather", g.const(t + "embeddings.weight", w[t + "embeddings.weight"]), "input_ids"),
             g.op("Gather", g.const(t + "position_embeddings.weight", w[t + "position_embeddings.weight"]), positions))
    if xc.has_lang_embeddings(cfg):
        h = g.op("Add", h, g.op("Gather", g.const(t + "lang_embeddings.weight", w[t + "lang_embeddings.weight"]), "langs"))
    else:  # keep langs a graph input of every export, so all exports take the same feeds
        h = g.op("Add", h, g.op("Unsqueeze", g.op("Cast", g.op("Mul", "langs", g.scalar(0, np.int64)), to=TensorProto.FLOAT),
                                 g.const("axes_last", np.array([-1], dtype=np.int64))))
    keep = g.op("Unsqueeze", g.op("Cast", "attention_mask", to=TensorProto.FLOAT), g.const("axes_2", np.array([2], dtype=np.int64)))
    h = g.op("Mul", layer_norm(g, h, w, t + "layer_norm_emb", eps), keep)
    bias = attention_bias(g, cfg, "attention_mask")
    split_shape = g.const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_shape = g.const("merge_heads", np.array([0, 0, d], dtype=np.int64))
    scale = g.scalar(math.sqrt(head_dim))

    def heads_of(x, perm):
        return g.op("Transpose", g.op("Reshape", x, split_shape), perm=perm)

    for i in range(cfg["n_layers"]):
        a = "%sattentions.%d." % (t, i)

        def lin(name, x, prefix=a):
            return linears.linear(g, x, prefix + name, w[prefix + name + ".weight"], w[prefix + name + ".bias"])

        q = heads_of(g.op("Div", lin("q_lin", h), scale), [0, 2, 1, 3])  # [b, heads, seq, head_dim]
        k = heads_of(lin("k_lin", h), [0, 2, 3, 1])                       # [b, heads, head_dim, seq]
        v = heads_of(lin("v_lin", h), [0, 2, 1, 3])
        weights = g.op("Softmax", g.op("Add", g.op("MatMul", q, k), bias), axis=-1)
        context = g.op("Reshape", g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 2, 1, 3]), merge_shape)
        h = layer_norm(g, g.op("Add", h, lin("out_lin", context)), w, "%slayer_norm1.%d" % (t, i), eps)
        f = "%sffns.%d." % (t, i)
        ff = lin("lin2", gelu(g, lin("lin1", h, f)), f)
        h = g.op("Mul", layer_norm(g, g.op("Add", h, ff), w, "%slayer_norm2.%d" % (t, i), eps), keep)
    return h


def fill_mask_head(g, cfg, w, linears, hidden):
    """logits [batch, seq, vocab] = hidden E^T + b at every position, as XLMWithLMHeadModel returns them."""
    rows = g.op("Reshape", hidden, g.const("rows_shape", np.array([-1, cfg["emb_dim"]], dtype=np.int64)))
    logits = linears.tied_output(g, rows, "transformer.embeddings.weight", g.const("pred_layer.proj.bias", w["pred_layer.proj.bias"]))
    batch_seq = g.op("Slice", g.op("Shape", "input_ids"), g.const("zero", np.array([0], dtype=np.int64)),
                     g.const("two", np.array([2], dtype=np.int64)))
    shape = g.op("Concat", batch_seq, g.const("vocab", np.array([cfg["vocab_size"]], dtype=np.int64)), axis=0)
    return g.op("Reshape", logits, shape)


def next_token_head(g, cfg, w, linears, hidden):
    """logits [batch, vocab] = hidden[:, seq - 1] E^T + b: the next token's row only."""
    if not cfg.get("causal", False):
        raise SystemExit("error: --head next-token needs a causal checkpoint (config \"causal\": true)")
    last = g.op("Gather", hidden, g.scalar(-1, np.int64), axis=1)  # [batch, d]
    return linears.tied_output(g, last, "transformer.embeddings.weight", g.const("pred_layer.proj.bias", w["pred_layer.proj.bias"]))


# head name -> (output name, output dims, function of the encoder's hidden states)
HEADS = {
    "fill-mask": ("logits", lambda cfg: ["batch", "seq", cfg["vocab_size"]], fill_mask_head),
    "encoder": ("hidden_states", lambda cfg: ["batch", "seq", cfg["emb_dim"]], lambda g, cfg, w, linears, hidden: hidden),
    "next-token": ("logits", lambda cfg: ["batch", cfg["vocab_size"]], next_token_head),
}


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field_header(number, length):
    """Tag and length of a length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(length)


def write_model(path, model, initializers):
    """Writes model (a ModelProto whose graph has no initializers) with the given name -> array initializers.

    An ONNX file is one protobuf message, and protobuf lets a message be written as the serialization of
    some of its fields followed by more fields: the graph (ModelProto field 7) goes out as the graph without
    initializers, then one initializer (GraphProto field 5) per weight, each a TensorProto without data
    followed by its raw_data (TensorProto field 9) straight from the numpy array. Building the whole
    message in memory instead copies the 567 MB of enfr-1024 four times over (about 10 s of CPU).
    """
    parts = []
    for name, a in initializers.items():
        head = TensorProto(name=name, data_type=onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], dims=a.shape).SerializeToString()
        head += _field_header(9, a.nbytes)
        parts.append((_field_header(5, len(head) + a.nbytes) + head, np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))))
    graph = model.graph.SerializeToString()
    graph_length = len(graph) + sum(len(h) + a.nbytes for h, a in parts)
    rest = onnx.ModelProto()
    rest.CopyFrom(model)
    rest.ClearField("graph")
    with open(path, "wb") as f:
        f.write(rest.SerializeToString())
        f.write(_field_header(7, graph_length))
        f.write(graph)
        for head, a in parts:
            f.write(head)
            f.write(memoryview(a).cast("B"))


def export(ckpt, out, head="fill-mask", weights="fp32"):
    cfg = xc.read_config(ckpt)
    w = xc.read_weights(ckpt)
    linears = LINEARS[weights]()
    output_name, output_dims, head_fn = HEADS[head]
    g = Graph()
    result = head_fn(g, cfg, w, linears, encoder(g, cfg, w, linears))
    g.nodes.append(helper.make_node("Identity", [result], [output_name], name=output_name))
    dims = ["batch", "seq"]
    graph = helper.make_graph(
        g.nodes, "xlm-%s" % head,
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "langs", "attention_mask")],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_dims(cfg))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="XlmEdge.Benchmarks export_onnx.py")
    model.ir_version = 8  # what ONNX 1.12 writes for opset 17

    # Types and shapes checked (strict shape inference) on the graph with its weights' shapes but not their values.
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    skeleton.graph.initializer.extend(g.skeleton_tensors())
    onnx.checker.check_model(skeleton, full_check=True)
    write_model(out + ".tmp", model, g.initializers)
    os.replace(out + ".tmp", out)
    return len(g.nodes), sum(a.nbytes for a in g.initializers.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", help="checkpoint folder (config.json + model.safetensors or pytorch_model.bin)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--head", default="fill-mask", choices=sorted(HEADS))
    ap.add_argument("--weights", default="fp32", choices=sorted(LINEARS))
    a = ap.parse_args()
    nodes, size = export(a.ckpt, a.out, a.head, a.weights)
    print("wrote %s: %s head, %s weights, opset %d, %d nodes, %.0f MB of initializers; onnx.checker ok"
          % (a.out, a.head, a.weights, OPSET, nodes, size / 1e6))


if __name__ == "__main__":
    main()
