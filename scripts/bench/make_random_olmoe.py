#!/usr/bin/env python3
"""Writes a random OLMoE-shaped checkpoint (real OLMoE-1B-7B layer dimensions, fewer layers) for timing
`pipeline forward` at realistic matrix sizes. Not a reference: the values are random.

Usage: make_random_olmoe.py OUT_DIR [--layers N] [--dtype bf16|f32] [--seed S]
Needs numpy (recorded version: 2.4.6); the safetensors file is written directly (numpy has no bfloat16).
"""
import argparse, json, os
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layers", type=int, default=1)
p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

H, I, E, K, V, HEADS = 2048, 1024, 64, 8, 50304, 16
rng = np.random.default_rng(a.seed)

def tensor(*shape, scale=0.02):
    x = (rng.standard_normal(shape, dtype=np.float32) * scale)
    if a.dtype == "f32":
        return x
    # bfloat16 = the upper 16 bits of float32 (truncated; fine for random values).
    return (x.view(np.uint32) >> 16).astype(np.uint16)

def norm(n):
    x = np.ones(n, dtype=np.float32)
    return x if a.dtype == "f32" else (x.view(np.uint32) >> 16).astype(np.uint16)

os.makedirs(a.out, exist_ok=True)
t = {"model.embed_tokens.weight": tensor(V, H), "model.norm.weight": norm(H)}
for l in range(a.layers):
    p_ = f"model.layers.{l}."
    t[p_ + "input_layernorm.weight"] = norm(H)
    t[p_ + "post_attention_layernorm.weight"] = norm(H)
    for n in "qkvo":
        t[p_ + f"self_attn.{n}_proj.weight"] = tensor(H, H)
    t[p_ + "self_attn.q_norm.weight"] = norm(H)
    t[p_ + "self_attn.k_norm.weight"] = norm(H)
    t[p_ + "mlp.gate.weight"] = tensor(E, H, scale=0.1)
    for e in range(E):
        t[p_ + f"mlp.experts.{e}.gate_proj.weight"] = tensor(I, H)
        t[p_ + f"mlp.experts.{e}.up_proj.weight"] = tensor(I, H)
        t[p_ + f"mlp.experts.{e}.down_proj.weight"] = tensor(H, I)
path = os.path.join(a.out, "model.safetensors")
header, offset = {"__metadata__": {"format": "pt"}}, 0
for name, x in t.items():
    header[name] = {"dtype": "F32" if x.dtype == np.float32 else "BF16", "shape": list(x.shape),
                    "data_offsets": [offset, offset + x.nbytes]}
    offset += x.nbytes
blob = json.dumps(header, separators=(",", ":")).encode()
blob += b" " * ((8 - len(blob) % 8) % 8)
with open(path, "wb") as f:
    f.write(len(blob).to_bytes(8, "little"))
    f.write(blob)
    for x in t.values():
        f.write(np.ascontiguousarray(x).tobytes())
config = {"model_type": "olmoe", "architectures": ["OlmoeForCausalLM"], "hidden_size": H, "intermediate_size": I,
          "num_hidden_layers": a.layers, "num_attention_heads": HEADS, "num_key_value_heads": HEADS,
          "num_experts": E, "num_experts_per_tok": K, "norm_topk_prob": False, "vocab_size": V,
          "max_position_embeddings": 4096, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "clip_qkv": None,
          "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float32", "tie_word_embeddings": False}
with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
