#!/usr/bin/env python3
"""How much top-1 agreement with fp32 each int8 scheme keeps, on the masks the accuracy mode uses.

  q8_schemes.py CKPT INPUTS.jsonl [--schemes row,q8_0,...]

INPUTS.jsonl: what `XlmEdge.Benchmarks accuracy Q8.gguf REF.gguf --dump INPUTS.jsonl` writes (one
input per line: ids, language id, mask positions).  Each scheme runs the PyTorch forward of
xlm_torch.py with every projection (q, k, v, out, both FFN matrices and the tied output layer at the
masks) replaced by its fake-quantized form: weights and activations rounded to int8 with the
scheme's scales and multiplied back in fp32 (the integer kernels' sums are exact, so this differs
from them only by fp32 rounding).  Printed per scheme: top-1 agreement with the fp32 forward, top-5
overlap, maximum logit error and mean KL of the mask distributions, as the accuracy mode prints them.

Weight scales: "row" (one fp32 scale per output row, what `pack --dtype q8` writes) or "q8_0"
(GGUF Q8_0: blocks of 32 along K, scale max|w|/127 stored as fp16, values rounded half away from
zero as llama.cpp's quantize_row_q8_0 does).  Activation scales: "token" (one per token, XlmEdge's
kernels), "block" (per 32 values along K, as llama.cpp quantizes activations for Q8_0 dot products)
or "fp32" (not quantized: weight-only int8).  "fp16 output" keeps the output layer in fp16.
"""
import argparse
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

from xlm_torch import XlmTorch

BLOCK = 32

# name -> (weight scales, activation scales, output layer int8)
SCHEMES = {
    "row": ("row", "token", True),
    "row-fp16-output": ("row", "token", False),
    "row-weight-only": ("row", "fp32", True),
    "row-block-activations": ("row", "block", True),
    "q8_0": ("q8_0", "block", True),
    "q8_0-token-activations": ("q8_0", "token", True),
    "q8_0-weight-only": ("q8_0", "fp32", True),
    "q8_0-fp16-output": ("q8_0", "block", False),
}


def quantize_rows(w):
    """Per output row, round half to even (XlmEdge's packer)."""
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    q = torch.round(w / torch.where(scale == 0, torch.ones_like(scale), scale))
    return q.clamp(-127, 127) * scale


def quantize_q8_0(w):
    """GGUF Q8_0 along the last axis: d = max|block| / 127 rounded to fp16; q = roundf(w / d) (half away from zero)."""
    shape = w.shape
    blocks = w.reshape(-1, BLOCK)
    d = (blocks.abs().amax(dim=1, keepdim=True) / 127).to(torch.float16).to(torch.float32)
    inverse = torch.where(d == 0, torch.zeros_like(d), 1 / d)
    x = blocks * inverse
    q = torch.sign(x) * torch.floor(x.abs() + 0.5)
    return (q * d).reshape(shape)


def quantize_activations(x, mode):
    if mode == "fp32":
        return x
    if mode == "token":
        scale = x.abs().amax(dim=-1, keepdim=True) / 127
        return torch.round(x / torch.where(scale == 0, torch.ones_like(scale), scale)) * scale
    return quantize_q8_0(x)


class FakeQuant(XlmTorch):
    def __init__(self, folder, weights, activations, int8_output):
        super().__init__(folder)
        self.activations = activations
        quantize = quantize_rows if weights == "row" else quantize_q8_0
        self.q = {}
        for name, w in self.w.items():
            if w.dim() == 2 and (".q_lin." in name or ".k_lin." in name or ".v_lin." in name or ".out_lin." in name or ".lin1." in name or ".lin2." in name):
                self.q[name] = quantize(w)
        embedding = self.w["transformer.embeddings.weight"]
        self.output = quantize(embedding) if int8_output else embedding.to(torch.float16).to(torch.float32)
        self.output_activations = activations if int8_output else "fp32"

    def _linear(self, x, name):
        return F.linear(quantize_activations(x, self.activations), self.q[name + ".weight"], self.w[name + ".bias"])

    def mask_logits(self, ids, langs, masks):
        h = self.encode(ids, langs, torch.ones_like(ids))[0, masks]
        return F.linear(quantize_activations(h, self.output_activations), self.output, self.w["pred_layer.proj.bias"])


def log_softmax(row):
    return row - torch.logsumexp(row, dim=-1, keepdim=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt")
    ap.add_argument("inputs")
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    inputs = [json.loads(line) for line in open(a.inputs)]
    reference = XlmTorch(a.ckpt)
    with torch.inference_mode():
        expected = []
        for item in inputs:
            ids = torch.tensor([item["ids"]])
            h = reference.encode(ids, torch.full_like(ids, item["lang"][0]), torch.ones_like(ids))[0, item["masks"]]
            expected.append(F.linear(h, reference.w["transformer.embeddings.weight"], reference.w["pred_layer.proj.bias"]))
        del reference
        print("| scheme (weights, activations, output layer) | masks | top-1 | top-5 overlap | max logit error | mean KL |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name in a.schemes.split(","):
            weights, activations, int8_output = SCHEMES[name]
            model = FakeQuant(a.ckpt, weights, activations, int8_output)
            masks = top1 = 0
            top5 = max_error = kl = 0.0
            for item, ref in zip(inputs, expected):
                ids = torch.tensor([item["ids"]])
                got = model.mask_logits(ids, torch.full_like(ids, item["lang"][0]), item["masks"])
                for r, g in zip(ref, got):
                    masks += 1
                    top1 += int(torch.argmax(r) == torch.argmax(g))
                    top5 += len(set(torch.topk(r, 5).indices.tolist()) & set(torch.topk(g, 5).indices.tolist())) / 5
                    max_error = max(max_error, float((r - g).abs().max()))
                    p = log_softmax(r.double())
                    kl += float((p.exp() * (p - log_softmax(g.double()))).sum())
            print("| %s (%s, %s, %s) | %d | %.1f%% | %.1f%% | %.3f | %.2e |" % (
                name, weights, activations, "int8" if int8_output else "fp16", masks, 100 * top1 / masks, 100 * top5 / masks, max_error, kl / masks))


if __name__ == "__main__":
    main()
