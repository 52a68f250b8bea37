"""XLMWithLMHeadModel inference in eager PyTorch (CPU, fp32): the PyTorch peer of the benchmark.

Loads a checkpoint folder through xlm_checkpoint and computes what XLM computes (post-norm
blocks, erf GELU, layer-norm epsilon from config.json, output layer tied to the embedding):

    h = LN_emb(E[ids] + P[0..S-1] + L[langs]) * mask
    per block:  h = LN1(h + attention(h));  h = LN2(h + W2 gelu(W1 h + b1) + b2) * mask
    logits = h E^T + b

with torch's own kernels (F.linear, F.layer_norm, softmax), as a PyTorch user would run it.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

import xlm_checkpoint as xc


class XlmTorch:
    def __init__(self, folder):
        self.cfg = xc.read_config(folder)
        if self.cfg.get("causal", False):
            raise ValueError("causal checkpoints are not supported by the benchmark's PyTorch peer")
        self.w = {k: torch.from_numpy(np.array(v)) for k, v in xc.read_weights(folder).items()}  # loaded into memory, as torch.load does
        self.d = self.cfg["emb_dim"]
        self.heads = self.cfg["n_heads"]
        self.eps = float(self.cfg.get("layer_norm_eps", 1e-12))
        self.lang = xc.has_lang_embeddings(self.cfg)

    def _ln(self, x, name):
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def encode(self, ids, langs, mask):
        """ids, langs, mask: int64 [batch, seq] -> last hidden states [batch, seq, d]."""
        t = "transformer."
        batch, seq = ids.shape
        keep = mask.to(torch.float32).unsqueeze(-1)
        hidden_key = (mask == 0)[:, None, None, :]
        h = self.w[t + "embeddings.weight"][ids] + self.w[t + "position_embeddings.weight"][:seq]
        if self.lang:
            h = h + self.w[t + "lang_embeddings.weight"][langs]
        h = self._ln(h, t + "layer_norm_emb") * keep
        dh = self.d // self.heads
        for i in range(self.cfg["n_layers"]):
            a = "%sattentions.%d." % (t, i)

            def split(x):
                return x.view(batch, seq, self.heads, dh).transpose(1, 2)

            q = split(self._linear(h, a + "q_lin")) / math.sqrt(dh)
            k = split(self._linear(h, a + "k_lin"))
            v = split(self._linear(h, a + "v_lin"))
            scores = torch.matmul(q, k.transpose(2, 3)).masked_fill(hidden_key, torch.finfo(torch.float32).min)
            context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(batch, seq, self.d)
            h = self._ln(h + self._linear(context, a + "out_lin"), "%slayer_norm1.%d" % (t, i))
            f = "%sffns.%d." % (t, i)
            inner = self._linear(h, f + "lin1")
            inner = 0.5 * inner * (1.0 + torch.erf(inner / math.sqrt(2.0)))
            h = self._ln(h + self._linear(inner, f + "lin2"), "%slayer_norm2.%d" % (t, i)) * keep
        return h

    def logits(self, ids, langs, mask):
        """[batch, seq, vocab] at every position, as XLMWithLMHeadModel returns them."""
        return F.linear(self.encode(ids, langs, mask), self.w["transformer.embeddings.weight"], self.w["pred_layer.proj.bias"])
