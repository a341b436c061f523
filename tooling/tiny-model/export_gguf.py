#!/usr/bin/env python3
"""Writes a checkpoint saved by train.py as a GGUF file that llama.cpp loads as a llama model.

    python3 export_gguf.py CHECKPOINT.npz MANIFEST.json OUT.gguf --name NAME

NumPy only. GGUF version 3: header, key/value metadata (general.*, llama.* hyperparameters and
the tokenizer.ggml.* vocabulary), tensor descriptions, then the tensor data, each piece aligned
to 32 bytes. Matrices are stored as float16, norm weights as float32. A tensor's dimensions are
listed fastest-first, so a PyTorch [out, in] matrix is written as (in, out) with its bytes as-is.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_vocab import BOS, EOS, PIECES, TOKEN_TYPES, UNK  # noqa: E402

ALIGN = 32
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1
FILE_TYPE_MOSTLY_F16 = 1


def s(text: str) -> bytes:
    b = text.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key: str, vtype: int, value) -> bytes:
    out = s(key) + struct.pack("<I", vtype)
    if vtype == T_UINT32:
        return out + struct.pack("<I", value)
    if vtype == T_INT32:
        return out + struct.pack("<i", value)
    if vtype == T_FLOAT32:
        return out + struct.pack("<f", value)
    if vtype == T_BOOL:
        return out + struct.pack("<?", value)
    if vtype == T_STRING:
        return out + s(value)
    raise ValueError(vtype)


def kv_array(key: str, etype: int, values) -> bytes:
    out = s(key) + struct.pack("<IIQ", T_ARRAY, etype, len(values))
    if etype == T_STRING:
        return out + b"".join(s(v) for v in values)
    if etype == T_FLOAT32:
        return out + struct.pack(f"<{len(values)}f", *values)
    if etype == T_INT32:
        return out + struct.pack(f"<{len(values)}i", *values)
    raise ValueError(etype)


def pad(n: int) -> int:
    return (ALIGN - n % ALIGN) % ALIGN


def tensor_order(names, n_layers):
    order = ["token_embd.weight"]
    for i in range(n_layers):
        order += [f"blk.{i}.{t}.weight" for t in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")]
    order += ["output_norm.weight", "output.weight"]
    assert sorted(order) == sorted(names), "checkpoint tensors differ from the llama layout"
    return order


def export(npz_path: str, config: dict, out_path: str, name: str, description: str) -> None:
    ckpt = np.load(npz_path)
    c = config
    meta = [
        kv("general.architecture", T_STRING, "llama"),
        kv("general.name", T_STRING, name),
        kv("general.description", T_STRING, description),
        kv("general.license", T_STRING, "MIT"),
        kv("general.file_type", T_UINT32, FILE_TYPE_MOSTLY_F16),
        kv("general.alignment", T_UINT32, ALIGN),
        kv("llama.context_length", T_UINT32, c["context_length"]),
        kv("llama.embedding_length", T_UINT32, c["dim"]),
        kv("llama.block_count", T_UINT32, c["n_layers"]),
        kv("llama.feed_forward_length", T_UINT32, c["ffn_dim"]),
        kv("llama.attention.head_count", T_UINT32, c["n_heads"]),
        kv("llama.attention.head_count_kv", T_UINT32, c["n_heads"]),
        kv("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, c["rms_eps"]),
        kv("llama.rope.dimension_count", T_UINT32, c["dim"] // c["n_heads"]),
        kv("llama.rope.freq_base", T_FLOAT32, c["rope_base"]),
        kv("llama.vocab_size", T_UINT32, len(PIECES)),
        kv("tokenizer.ggml.model", T_STRING, "llama"),
        kv_array("tokenizer.ggml.tokens", T_STRING, PIECES),
        kv_array("tokenizer.ggml.scores", T_FLOAT32, [0.0] * len(PIECES)),
        kv_array("tokenizer.ggml.token_type", T_INT32, TOKEN_TYPES),
        kv("tokenizer.ggml.unknown_token_id", T_UINT32, UNK),
        kv("tokenizer.ggml.bos_token_id", T_UINT32, BOS),
        kv("tokenizer.ggml.eos_token_id", T_UINT32, EOS),
        kv("tokenizer.ggml.add_bos_token", T_BOOL, True),
        kv("tokenizer.ggml.add_eos_token", T_BOOL, False),
        kv("tokenizer.ggml.add_space_prefix", T_BOOL, False),
    ]
    order = tensor_order(list(ckpt.keys()), c["n_layers"])
    infos, blobs, offset = [], [], 0
    for tname in order:
        arr = ckpt[tname]
        if arr.ndim == 2:
            arr = np.ascontiguousarray(arr.astype(np.float16))
            gtype = GGML_F16
        else:
            arr = np.ascontiguousarray(arr.astype(np.float32))
            gtype = GGML_F32
        dims = list(reversed(arr.shape))
        infos.append(s(tname) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", gtype, offset))
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        blobs.append(data + b"\0" * pad(len(data)))
        offset += len(data) + pad(len(data))
    header = b"GGUF" + struct.pack("<IQQ", 3, len(order), len(meta)) + b"".join(meta) + b"".join(infos)
    with open(out_path, "wb") as f:
        f.write(header + b"\0" * pad(len(header)))
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--name", required=True)
    ap.add_argument("--description", default="Pocket AI tiny test model (character-level llama)")
    args = ap.parse_args()
    config = json.load(open(args.manifest))["config"]
    export(args.checkpoint, config, args.out, args.name, args.description)
    print(f"{args.out}: {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
