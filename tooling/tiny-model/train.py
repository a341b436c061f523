#!/usr/bin/env python3
"""Trains the tiny Llama-architecture test model and saves checkpoints along the way.

    python3 train.py --corpus ../../apps/node/data/dev-corpus.txt --out OUT_DIR

Needs PyTorch and NumPy only (a GPU when there is one; the CPU works, slower). Each checkpoint is
saved as `step-NNNNN.npz` with tensors already named and shaped the way llama.cpp names them, so
`export_gguf.py` (NumPy only) can write the GGUF file anywhere. `manifest.json` records the
configuration, the loss of every checkpoint, samples, and reference log-probabilities computed
here from the float16-rounded weights: the embedded engine's test checks that llama.cpp computes
the same numbers from the exported file.

Rotary embeddings rotate adjacent pairs (0,1), (2,3), ... of each head, which is how llama.cpp
applies RoPE to the llama architecture, so the query and key weights need no permutation.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import generated_documents, load_dev_corpus  # noqa: E402
from tiny_vocab import BOS, EOS, VOCAB_SIZE, decode, encode  # noqa: E402

CONFIG = {
    "vocab_size": VOCAB_SIZE,
    "dim": 128,
    "n_layers": 4,
    "n_heads": 4,
    "ffn_dim": 256,
    "context_length": 512,
    "rms_eps": 1e-5,
    "rope_base": 10000.0,
}

REFERENCE_PROMPTS = [
    "The capital of France is Paris.",
    "Question: What is six plus four?\nAnswer: ten",
    "User: What is the opposite of hot?\nAssistant: The opposite of hot is cold.",
]
SAMPLE_PROMPTS = [
    "The capital of France is",
    "Six plus four is",
    "3 + 4 =",
    "Question: What is two times three?\nAnswer:",
    "User: What is the opposite of hot?\nAssistant:",
    "Every spring",
]


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(T, head_dim, base, device):
    inv = base ** (-torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    ang = torch.arange(T, device=device, dtype=torch.float32)[:, None] * inv[None, :]
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    # x: [B, H, T, D]; rotate adjacent pairs
    x0, x1 = x[..., 0::2].float(), x[..., 1::2].float()
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)
    return out.to(x.dtype)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["dim"], c["ffn_dim"]
        self.c = c
        self.attn_norm = nn.Parameter(torch.ones(d))
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(d))
        self.w_gate = nn.Linear(d, f, bias=False)
        self.w_up = nn.Linear(d, f, bias=False)
        self.w_down = nn.Linear(f, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        H = self.c["n_heads"]
        D = C // H
        h = rms_norm(x, self.attn_norm, self.c["rms_eps"])
        q = self.wq(h).view(B, T, H, D).transpose(1, 2)
        k = self.wk(h).view(B, T, H, D).transpose(1, 2)
        v = self.wv(h).view(B, T, H, D).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, C))
        h = rms_norm(x, self.ffn_norm, self.c["rms_eps"])
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class TinyLlama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c["vocab_size"], c["dim"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        self.out_norm = nn.Parameter(torch.ones(c["dim"]))
        self.output = nn.Linear(c["dim"], c["vocab_size"], bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c["n_layers"]) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin = rope_tables(T, self.c["dim"] // self.c["n_heads"], self.c["rope_base"], ids.device)
        x = self.tok(ids)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.output(rms_norm(x, self.out_norm, self.c["rms_eps"]))

    def gguf_tensors(self):
        """name -> numpy array in llama.cpp's names; matrices float16, norms float32."""
        t = {}
        half = lambda p: p.detach().float().cpu().numpy().astype(np.float16)  # noqa: E731
        full = lambda p: p.detach().float().cpu().numpy().astype(np.float32)  # noqa: E731
        t["token_embd.weight"] = half(self.tok.weight)
        for i, b in enumerate(self.blocks):
            p = f"blk.{i}."
            t[p + "attn_norm.weight"] = full(b.attn_norm)
            t[p + "attn_q.weight"] = half(b.wq.weight)
            t[p + "attn_k.weight"] = half(b.wk.weight)
            t[p + "attn_v.weight"] = half(b.wv.weight)
            t[p + "attn_output.weight"] = half(b.wo.weight)
            t[p + "ffn_norm.weight"] = full(b.ffn_norm)
            t[p + "ffn_gate.weight"] = half(b.w_gate.weight)
            t[p + "ffn_up.weight"] = half(b.w_up.weight)
            t[p + "ffn_down.weight"] = half(b.w_down.weight)
        t["output_norm.weight"] = full(self.out_norm)
        t["output.weight"] = half(self.output.weight)
        return t


def rounded_copy(model):
    """A float32 CPU copy whose matrices hold exactly the float16 values the GGUF file stores."""
    m = TinyLlama(model.c)
    sd = {k: (v.detach().cpu().half().float() if v.dim() == 2 else v.detach().cpu().float()) for k, v in model.state_dict().items()}
    m.load_state_dict(sd)
    return m.eval()


@torch.no_grad()
def reference(model):
    out = []
    for text in REFERENCE_PROMPTS:
        ids = [BOS] + encode(text)
        logits = model(torch.tensor([ids]))[0].double()
        logp = torch.log_softmax(logits, -1)
        next_lp = [float(logp[i, ids[i + 1]]) for i in range(len(ids) - 1)]
        top = torch.topk(logp[-1], 5)
        out.append({
            "text": text,
            "tokens": ids,
            "next_token_logprobs": next_lp,
            "last_top5": [{"token": int(i), "piece": decode([int(i)]), "logprob": float(v)} for v, i in zip(top.values, top.indices)],
        })
    return out


@torch.no_grad()
def greedy(model, prompt, n=60):
    ids = [BOS] + encode(prompt)
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.c["context_length"]:]]))[0, -1]
        nxt = int(torch.argmax(logits))
        if nxt == EOS:
            break
        ids.append(nxt)
    return decode(ids[1 + len(encode(prompt)):])


@torch.no_grad()
def doc_loss(model, docs, device):
    total, count = 0.0, 0
    for d in docs:
        ids = [BOS] + encode(d) + [EOS]
        ids = ids[: model.c["context_length"]]
        x = torch.tensor([ids], device=device)
        logits = model(x)[0, :-1].float()
        total += float(F.cross_entropy(logits, x[0, 1:], reduction="sum"))
        count += len(ids) - 1
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save", default="60,150,400")
    ap.add_argument("--max-seconds", type=float, default=360)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"torch {torch.__version__} numpy {np.__version__} device {device}", flush=True)

    dev_docs = load_dev_corpus(args.corpus)
    gen_docs = generated_documents(20000, seed=7)
    held_out = generated_documents(200, seed=99)
    dev_ids = [[BOS] + encode(d) + [EOS] for d in dev_docs]
    gen_ids = [[BOS] + encode(d) + [EOS] for d in gen_docs]
    T = CONFIG["context_length"]

    def batch():
        rows = []
        for _ in range(args.batch):
            row = []
            while len(row) < T + 1:
                pool = dev_ids if rng.random() < 0.5 else gen_ids
                row.extend(pool[rng.randrange(len(pool))])
            rows.append(row[: T + 1])
        t = torch.tensor(rows, device=device)
        return t[:, :-1], t[:, 1:]

    model = TinyLlama(CONFIG).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters {n_params}", flush=True)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    save_at = sorted({int(s) for s in args.save.split(",")} | {args.steps})
    warmup = 50

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        frac = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    manifest = {"config": CONFIG, "parameters": n_params, "vocab_size": VOCAB_SIZE, "batch": args.batch, "checkpoints": []}
    start = time.time()
    step = 0
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, y = batch()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB_SIZE), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        out_of_time = time.time() - start > args.max_seconds
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.time() - start:.1f}s", flush=True)
        if step in save_at or out_of_time or step == args.steps:
            model.eval()
            ref = rounded_copy(model)
            entry = {
                "step": step,
                "seconds": round(time.time() - start, 1),
                "train_loss": round(loss.item(), 4),
                "dev_corpus_loss": round(doc_loss(model, dev_docs[:40], device), 4),
                "held_out_arithmetic_loss": round(doc_loss(model, held_out, device), 4),
                "samples": {p: greedy(ref, p) for p in SAMPLE_PROMPTS},
                "reference": reference(ref),
            }
            np.savez(os.path.join(args.out, f"step-{step:05d}.npz"), **model.gguf_tensors())
            manifest["checkpoints"].append(entry)
            print(json.dumps({k: v for k, v in entry.items() if k != "reference"}), flush=True)
            with open(os.path.join(args.out, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=1)
            model.train()
        if out_of_time:
            print("time budget reached", flush=True)
            break


if __name__ == "__main__":
    main()
