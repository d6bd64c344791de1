"""Transformer for masked diffusion (MDLM / LLaDA objective, bidirectional) and block diffusion (BD3-LM, block-causal
through an additive attention bias in training), with an inference path that the ONNX export uses: explicit position ids, a post-RoPE key/value cache, and in-graph top-k statistics for the
requested positions only.
"""
import math, os
import torch
import torch.nn as nn
import torch.nn.functional as F

USE_SDPA = hasattr(F, 'scaled_dot_product_attention') and os.environ.get('SDPA', '1') == '1'  # CUDA only; SDPA=0: off


def rope_tables(max_len, head_dim, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
    angles = torch.outer(torch.arange(max_len).float(), inv)
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x, cos, sin):
    """x: [B, H, T, hd]; cos/sin: [B, 1, T, hd/2] (already gathered at the tokens' positions)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim, bias=False)
        self.fc2 = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x, cos, sin, past_k=None, past_v=None, attn_bias=None):
        B, T, D = x.shape
        H, hd = self.heads, D // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
        q, k, v = apply_rope(q, cos, sin), apply_rope(k, cos, sin), v.contiguous()
        keys = k if past_k is None else torch.cat([past_k, k], dim=2)
        values = v if past_v is None else torch.cat([past_v, v], dim=2)
        if q.is_cuda and USE_SDPA:  # torch 2.x on a GPU: fused kernels
            dt = values.dtype  # bf16 under autocast (RoPE's fp32 tables promote q and k to fp32)
            mask = None if attn_bias is None else attn_bias.to(dt)
            y = F.scaled_dot_product_attention(q.to(dt), keys.to(dt), values, attn_mask=mask)
        else:  # CPU (torch 1.13 has no SDPA) and the ONNX export: exactly the original math
            scores = torch.matmul(q, keys.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
            att = (scores if attn_bias is None else scores + attn_bias).softmax(-1)
            y = torch.matmul(att, values)
        y = y.transpose(1, 2).reshape(B, T, D)
        x = x + self.proj(y)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x, k, v


class DiffusionLM(nn.Module):
    def __init__(self, vocab, dim, layers, heads, max_len=1024):
        super().__init__()
        self.config = dict(vocab=vocab, dim=dim, layers=layers, heads=heads, max_len=max_len)
        self.emb = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        cos, sin = rope_tables(max_len, dim // heads)
        self.register_buffer('cos', cos, persistent=False)
        self.register_buffer('sin', sin, persistent=False)
        nn.init.normal_(self.emb.weight, std=0.02)
        for b in self.blocks:
            for m in (b.qkv, b.fc1):
                nn.init.normal_(m.weight, std=0.02)
            for m in (b.proj, b.fc2):
                nn.init.normal_(m.weight, std=0.02 / math.sqrt(2 * layers))

    def hidden(self, ids, position_ids=None, past_k=None, past_v=None, attn_bias=None):
        """Returns final hidden states [B, T, D] and this pass's per-layer keys/values. attn_bias: [T, T] additive."""
        if position_ids is None:
            position_ids = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand(ids.shape[0], -1)
        cos = self.cos[position_ids].unsqueeze(1)
        sin = self.sin[position_ids].unsqueeze(1)
        x = self.emb(ids)
        keys, values = [], []
        for i, b in enumerate(self.blocks):
            x, k, v = b(x, cos, sin, None if past_k is None else past_k[i], None if past_v is None else past_v[i],
                        attn_bias)
            keys.append(k)
            values.append(v)
        return self.ln_f(x), keys, values

    def logits(self, h):
        return F.linear(h, self.emb.weight)


class InferenceGraph(nn.Module):
    """What model.onnx computes. The engine feeds only the tokens it needs (a block, or block + kept suffix) with
    their absolute positions, plus cached post-RoPE keys/values of the rest; it gets back top-k probabilities and
    negative entropy for `output_positions` only, so a large vocabulary never crosses into JavaScript."""

    def __init__(self, model, top_k=4):
        super().__init__()
        self.model, self.top_k = model, top_k

    def forward(self, input_ids, position_ids, past_keys, past_values, output_positions):
        h, keys, values = self.model.hidden(input_ids, position_ids, past_keys, past_values)
        idx = output_positions.unsqueeze(-1).expand(-1, -1, h.shape[-1])
        logits = self.model.logits(torch.gather(h, 1, idx)).float()
        logp = torch.log_softmax(logits, dim=-1)
        probs = logp.exp()
        top_probs, top_ids = torch.topk(probs, self.top_k, dim=-1)
        neg_entropy = (probs * logp).sum(-1)
        return top_ids, top_probs, neg_entropy, torch.stack(keys), torch.stack(values)


def count_params(m):
    return sum(p.numel() for p in m.parameters())
