#!/usr/bin/env python3
"""Writes a random MoE checkpoint at a real model's layer dimensions (fewer layers) for timing and memory runs of
`pipeline forward` / `pipeline bench extract`. Not a reference: the values are random.

Shapes (--shape):
  olmoe     OLMoE-1B-7B: hidden 2048, 16 heads, q/k norm, 64 experts of 1024, top-8, vocab 50304
  deepseek  DeepSeekMoE-16B (deepseek-ai/deepseek-moe-16b-base config.json): hidden 2048, 16 heads, layer 0 dense
            (intermediate 10944, first_k_dense_replace 1), then 64 routed experts of 1408, top-6, 2 shared experts
            (one fused MLP of 2 x 1408), vocab 102400. --layers counts the dense layer (3 = dense + 2 MoE).

Usage: make_random_olmoe.py OUT_DIR [--shape olmoe|deepseek] [--layers N] [--dtype bf16|f32] [--seed S]
Needs numpy (recorded version: 2.4.6); the safetensors file is written directly (numpy has no bfloat16), one tensor
at a time, so memory stays at one tensor whatever the model size. The olmoe output is byte-identical to the
version of this script that built /work/bench-model (same draws in the same order).
"""
import argparse, json, os
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--shape", choices=["olmoe", "deepseek"], default="olmoe")
p.add_argument("--layers", type=int, default=1)
p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

rng = np.random.default_rng(a.seed)
ONES = "ones"

# (name, shape, scale or ONES), in file order; drawn in this order.
def olmoe():
    H, I, E, K, V, HEADS = 2048, 1024, 64, 8, 50304, 16
    t = [("model.embed_tokens.weight", (V, H), 0.02), ("model.norm.weight", (H,), ONES)]
    for l in range(a.layers):
        p_ = f"model.layers.{l}."
        t += [(p_ + "input_layernorm.weight", (H,), ONES), (p_ + "post_attention_layernorm.weight", (H,), ONES)]
        t += [(p_ + f"self_attn.{n}_proj.weight", (H, H), 0.02) for n in "qkvo"]
        t += [(p_ + "self_attn.q_norm.weight", (H,), ONES), (p_ + "self_attn.k_norm.weight", (H,), ONES)]
        t += [(p_ + "mlp.gate.weight", (E, H), 0.1)]
        for e in range(E):
            t += [(p_ + f"mlp.experts.{e}.gate_proj.weight", (I, H), 0.02), (p_ + f"mlp.experts.{e}.up_proj.weight", (I, H), 0.02),
                  (p_ + f"mlp.experts.{e}.down_proj.weight", (H, I), 0.02)]
    config = {"model_type": "olmoe", "architectures": ["OlmoeForCausalLM"], "hidden_size": H, "intermediate_size": I,
              "num_hidden_layers": a.layers, "num_attention_heads": HEADS, "num_key_value_heads": HEADS,
              "num_experts": E, "num_experts_per_tok": K, "norm_topk_prob": False, "vocab_size": V,
              "max_position_embeddings": 4096, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "clip_qkv": None,
              "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float32", "tie_word_embeddings": False}
    return t, config

def deepseek():
    H, DENSE, I, E, K, SHARED, V, HEADS = 2048, 10944, 1408, 64, 6, 2, 102400, 16
    t = [("model.embed_tokens.weight", (V, H), 0.02), ("model.norm.weight", (H,), ONES)]
    for l in range(a.layers):
        p_ = f"model.layers.{l}."
        t += [(p_ + "input_layernorm.weight", (H,), ONES), (p_ + "post_attention_layernorm.weight", (H,), ONES)]
        t += [(p_ + f"self_attn.{n}_proj.weight", (H, H), 0.02) for n in "qkvo"]
        def mlp(prefix, inter):
            return [(prefix + "gate_proj.weight", (inter, H), 0.02), (prefix + "up_proj.weight", (inter, H), 0.02),
                    (prefix + "down_proj.weight", (H, inter), 0.02)]
        if l == 0:
            t += mlp(p_ + "mlp.", DENSE)
        else:
            t += [(p_ + "mlp.gate.weight", (E, H), 0.1)]
            for e in range(E):
                t += mlp(p_ + f"mlp.experts.{e}.", I)
            t += mlp(p_ + "mlp.shared_experts.", SHARED * I)
    config = {"architectures": ["DeepseekForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
              "bos_token_id": 100000, "eos_token_id": 100001, "first_k_dense_replace": 1, "hidden_act": "silu",
              "hidden_size": H, "initializer_range": 0.02, "intermediate_size": DENSE, "max_position_embeddings": 4096,
              "model_type": "deepseek", "moe_intermediate_size": I, "moe_layer_freq": 1, "n_routed_experts": E,
              "n_shared_experts": SHARED, "norm_topk_prob": False, "num_attention_heads": HEADS, "num_experts_per_tok": K,
              "num_hidden_layers": a.layers, "num_key_value_heads": HEADS, "pretraining_tp": 1, "rms_norm_eps": 1e-06,
              "rope_scaling": None, "rope_theta": 10000, "scoring_func": "softmax", "tie_word_embeddings": False,
              "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float32", "use_cache": True, "vocab_size": V}
    return t, config

tensors, config = olmoe() if a.shape == "olmoe" else deepseek()
size = 4 if a.dtype == "f32" else 2

def draw(shape, scale):
    x = np.ones(shape, dtype=np.float32) if scale == ONES else rng.standard_normal(shape, dtype=np.float32) * scale
    # bfloat16 = the upper 16 bits of float32 (truncated; fine for random values).
    return x if a.dtype == "f32" else (x.view(np.uint32) >> 16).astype(np.uint16)

os.makedirs(a.out, exist_ok=True)
header, offset = {"__metadata__": {"format": "pt"}}, 0
for name, shape, _ in tensors:
    nbytes = int(np.prod(shape)) * size
    header[name] = {"dtype": "F32" if a.dtype == "f32" else "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
    offset += nbytes
blob = json.dumps(header, separators=(",", ":")).encode()
blob += b" " * ((8 - len(blob) % 8) % 8)
with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
    f.write(len(blob).to_bytes(8, "little"))
    f.write(blob)
    for _, shape, scale in tensors:
        f.write(np.ascontiguousarray(draw(shape, scale)).tobytes())
with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
