"""Tiny random MoE checkpoints made by transformers, with the activations transformers computes for them: the
reference fixtures of the model types added after the shared ones (issue 12), in the shared fixtures' format
(Tests/Fixtures/models/README.md: config.json, model.safetensors, expected.safetensors, expected-unpadded.safetensors).

Usage: /tmp/venv/bin/python scripts/reference/make_moe_fixture.py granitemoe|ernie4_5_moe|deepseek_v2|deepseek_v3|gpt_oss [--out Tests/Fixtures/models]
Needs torch and transformers (recorded: torch 2.15.0, transformers 5.25.0, CPU, float32). Seeded: the same versions
write the same files. The init seed is the first from 1000 up for which every valid token of every MoE layer has a
gap of at least 1e-3 between its k-th and (k+1)-th selection score (the logits, or what the router ranks), so float32 noise cannot flip an expert choice.
"""
import argparse
import json
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file

# The shared fixtures' inputs: lengths 12, 7 and 1, left-padded with id 0.
INPUT_IDS = [[771, 193, 936, 565, 481, 526, 587, 114, 322, 598, 618, 968],
             [0, 0, 0, 0, 0, 996, 450, 942, 874, 13, 943, 851],
             [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 206]]

SHAPE = dict(vocab_size=1000, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
             max_position_embeddings=512, pad_token_id=0, tie_word_embeddings=False)


def granitemoe():
    # granite-3.0-1b-a400m's multipliers (embedding 12, residual 0.22, attention 1/64, logits 6), so each one matters.
    config = transformers.GraniteMoeConfig(**SHAPE, intermediate_size=32, num_local_experts=8, num_experts_per_tok=2,
                                           rms_norm_eps=1e-6, embedding_multiplier=12.0, residual_multiplier=0.22,
                                           attention_multiplier=0.015625, logits_scaling=6.0,
                                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    return config, transformers.GraniteMoeForCausalLM, softmax_scores


def ernie4_5_moe():
    # ERNIE-4.5-21B-A3B's layout at toy size: layer 0 dense, then MoE with one shared expert; interleaved RoPE; the
    # random e_score_correction_bias (N(0, 0.1), like every weight) moves expert choices away from the top-k of p.
    config = transformers.Ernie4_5_MoeConfig(**SHAPE, intermediate_size=48, moe_intermediate_size=32, moe_num_experts=8,
                                             moe_k=2, moe_num_shared_experts=1, moe_layer_start_index=1,
                                             moe_layer_end_index=-1, moe_layer_interval=1, moe_norm_min=1e-12,
                                             use_bias=False, rms_norm_eps=1e-5,
                                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    return config, transformers.Ernie4_5_MoeForCausalLM, ernie_selection_scores


# DeepSeek-V2-Lite's YaRN (factor 40 from 4096 positions), with mscale 1 instead of its 0.707 so that the cos/sin
# attention factor (mscale / mscale_all_dim terms) is not 1 and is tested too; mscale_all_dim also scales MLA's q·kᵀ.
YARN = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 40.0, "original_max_position_embeddings": 4096,
        "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 0.707}


def deepseek_v2():
    # DeepSeek-V2's MLA at toy size (low-rank q, v head 12 != qk head 8 + 8) and its group-limited router: 8 experts
    # in 2 groups of 4, only the best group kept (so the choice differs from a plain top-k), weights x2.0; layer 0 dense. MLA has no kv groups: kv heads = heads.
    shape = dict(SHAPE, num_key_value_heads=4)
    config = transformers.DeepseekV2Config(**shape, intermediate_size=48, moe_intermediate_size=32, n_routed_experts=8,
                                           n_shared_experts=1, num_experts_per_tok=2, first_k_dense_replace=1,
                                           q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8,
                                           v_head_dim=12, topk_method="group_limited_greedy", n_group=2, topk_group=1,
                                           routed_scaling_factor=2.0, norm_topk_prob=False, rms_norm_eps=1e-6,
                                           rope_parameters=YARN)
    return config, transformers.DeepseekV2ForCausalLM, deepseek_v2_selection_scores


def deepseek_v2_selection_scores(model, layer, logits):
    """Softmax probabilities with the experts outside the kept groups zeroed; the group choice itself must also be
    clear, so a group-score gap below 1e-3 returns scores whose gap is that small."""
    gate = model.model.layers[layer].mlp.gate
    scores = torch.softmax(logits.float(), dim=-1)
    groups = scores.view(*scores.shape[:-1], gate.num_group, -1).max(dim=-1).values
    top = groups.topk(gate.topk_group + 1, dim=-1).values
    group_gap = top[..., gate.topk_group - 1] - top[..., gate.topk_group]
    kept = groups.topk(gate.topk_group, dim=-1).indices
    mask = torch.zeros_like(groups).scatter_(-1, kept, 1).repeat_interleave(scores.shape[-1] // gate.num_group, dim=-1)
    masked = scores * mask
    # Fold the group gap in: a token whose groups are nearly tied gets a near-tie between its k-th and (k+1)-th score.
    tied = group_gap < 1e-3
    masked[tied] = 0.5
    return masked


def deepseek_v3():
    # Moonlight-16B-A3B's kind of DeepSeek-V3: MLA with a full q_proj (no q_lora_rank), plain RoPE on interleaved
    # pairs, a sigmoid router whose correction bias chooses within the best group (of 2, by the sum of the two best
    # biased scores), norm_topk_prob, x2.5; layer 0 dense. The bias is a buffer, so `randomize` sets it explicitly.
    shape = dict(SHAPE, num_key_value_heads=4)
    config = transformers.DeepseekV3Config(**shape, intermediate_size=48, moe_intermediate_size=32, n_routed_experts=8,
                                           n_shared_experts=1, num_experts_per_tok=2, first_k_dense_replace=1,
                                           q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8,
                                           v_head_dim=12, n_group=2, topk_group=1, routed_scaling_factor=2.5,
                                           norm_topk_prob=True, rope_interleave=True, rms_norm_eps=1e-6,
                                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    return config, transformers.DeepseekV3ForCausalLM, deepseek_v3_selection_scores


def deepseek_v3_selection_scores(model, layer, logits):
    """sigmoid(logits) + bias, -inf outside the kept group; a near-tie between groups is folded in as for V2."""
    gate = model.model.layers[layer].mlp.gate
    scores = torch.sigmoid(logits.float()) + gate.e_score_correction_bias
    groups = scores.view(*scores.shape[:-1], gate.num_group, -1).topk(2, dim=-1).values.sum(dim=-1)
    top = groups.topk(gate.topk_group + 1, dim=-1).values
    tied = (top[..., gate.topk_group - 1] - top[..., gate.topk_group]) < 1e-3
    kept = groups.topk(gate.topk_group, dim=-1).indices
    mask = torch.zeros_like(groups).scatter_(-1, kept, 1).repeat_interleave(scores.shape[-1] // gate.num_group, dim=-1)
    masked = scores.masked_fill(mask == 0, -1e9)
    masked[tied] = 0.5
    return masked


def gpt_oss():
    # gpt-oss-20b's layout at toy size: layers alternate sliding-window (window 4, shorter than the 12-token input)
    # and full attention, every head has a learned sink logit, q/k/v/o, the router and the experts have biases, RoPE
    # is gpt-oss's YaRN (factor 32 from 4096, truncate false), experts use the clamped SwiGLU with limit 0.6 (gpt-oss:
    # 7.0) so both clamps act at toy activations. The router softmaxes its top-k logits only. Expert weights are
    # rounded to MXFP4 values (`round_experts_to_mxfp4`) so the hub's MXFP4 layout of the same model is exact.
    config = transformers.GptOssConfig(**SHAPE, head_dim=16, intermediate_size=32, num_local_experts=8,
                                       num_experts_per_tok=2, sliding_window=4, rms_norm_eps=1e-5, swiglu_limit=0.6,
                                       attention_bias=True,
                                       rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0,
                                                        "original_max_position_embeddings": 4096, "beta_fast": 32.0,
                                                        "beta_slow": 1.0, "truncate": False})
    return config, transformers.GptOssForCausalLM, softmax_scores


# MXFP4 (OCP microscaling): 32 consecutive input weights of one output row share an exponent e (stored as e + 127);
# each weight is one of these 16 values (a 4-bit e2m1 code) times 2^e. transformers' integrations/mxfp4.py FP4_VALUES.
FP4_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]


def mxfp4_encode(weight):
    """(E, out, in) float weights -> (blocks (E, out, in/32, 16) uint8, scales (E, out, in/32) uint8, dequantized
    (E, out, in)). The exponent is the smallest that fits the block's largest magnitude in 6; codes round to nearest."""
    e, rows, cols = weight.shape
    blocks = weight.reshape(e, rows, cols // 32, 32)
    amax = blocks.abs().amax(dim=-1, keepdim=True).clamp(min=1e-30)
    exponent = torch.ceil(torch.log2(amax / 6.0))
    scaled = blocks / torch.exp2(exponent)
    lut = torch.tensor(FP4_VALUES)
    codes = (scaled.unsqueeze(-1) - lut).abs().argmin(dim=-1)  # ties: the lower code (+0 before -0)
    dequantized = lut[codes] * torch.exp2(exponent)
    packed = (codes[..., 0::2] | (codes[..., 1::2] << 4)).to(torch.uint8)
    scales = (exponent.squeeze(-1) + 127).to(torch.uint8)
    return packed.contiguous(), scales.contiguous(), dequantized.reshape(e, rows, cols)


def round_experts_to_mxfp4(model):
    """Replaces every expert weight by its MXFP4 value; returns the hub layout's tensors (name -> tensor)."""
    hub = {}
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if not (name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj")):
                continue
            # transformers keeps (E, in, out); MXFP4 rows are outputs: (E, out, in).
            blocks, scales, dequantized = mxfp4_encode(parameter.transpose(1, 2).contiguous())
            parameter.copy_(dequantized.transpose(1, 2))
            hub[name + "_blocks"], hub[name + "_scales"] = blocks, scales
    return hub


def softmax_scores(model, layer, logits):
    """What the router ranks to choose its k experts (softmax keeps the logits' order, so the logits themselves)."""
    return logits


def ernie_selection_scores(model, layer, logits):
    bias = model.model.layers[layer].mlp.gate.moe_statics.e_score_correction_bias.squeeze()
    return torch.softmax(logits.float(), dim=-1) + bias


# A group-limited router swaps two experts at once when its kept group flips, so a choice that int8/q4 noise can
# flip costs far more than elsewhere: that fixture asks for a wider margin (QuantizationTests holds it to the same bars).
MIN_GAP = {"deepseek_v2": 5e-3, "deepseek_v3": 2e-2}

MODELS = {"granitemoe": granitemoe, "ernie4_5_moe": ernie4_5_moe, "deepseek_v2": deepseek_v2, "deepseek_v3": deepseek_v3,
          "gpt_oss": gpt_oss}


def moe_layers(model):
    """Indices of the decoder layers whose MLP is a routed MoE block (output_router_logits lists only those)."""
    return [i for i, layer in enumerate(model.model.layers) if hasattr(layer.mlp, "experts")]


def randomize(model, seed):
    """Every weight N(0, 0.1), norm weights 1 + N(0, 0.1): larger than the default init, so activations are O(1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * 0.1
            parameter.copy_(1 + noise if "norm" in name else noise)
        # Buffers that are weights in the checkpoint (DeepSeek-V3's e_score_correction_bias), after the parameters
        # so the parameters' draws are the same as before.
        for name, buffer in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buffer.copy_(torch.randn(buffer.shape, generator=generator) * 0.1)


def run(model, ids, mask):
    positions = (mask.cumsum(-1) - 1).clamp(min=0) * mask
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, output_hidden_states=True,
                    output_router_logits=True)
    b, t = ids.shape
    routers = torch.stack([r.reshape(b, t, -1) for r in out.router_logits])
    return positions, torch.stack(out.hidden_states), routers, out.logits[:, -1]


def smallest_gap(model, scores, routers, mask, k):
    """The smallest gap between the k-th and (k+1)-th selection score of any valid token in any MoE layer."""
    selection = torch.stack([scores(model, layer, routers[i]) for i, layer in enumerate(moe_layers(model))])
    top = selection.float().topk(k + 1, dim=-1).values
    gap = top[..., k - 1] - top[..., k]
    return gap[:, mask.bool()].min().item()


def write_mxfp4_twin(folder, hub_experts, metadata):
    """`<type>-mxfp4-tiny`: the same model in the hub's layout (experts as MXFP4 blocks and scales, everything else
    as saved, `quantization_config` mxfp4 as gpt-oss-20b ships it), with the same expected files."""
    from safetensors.torch import load_file
    import shutil
    twin = folder.parent / folder.name.replace("-tiny", "-mxfp4-tiny")
    twin.mkdir(parents=True, exist_ok=True)
    tensors = load_file(folder / "model.safetensors")
    # transformers' own MXFP4 decoder must give back the weights the reference ran (exactly: they are MXFP4 values).
    from transformers.integrations.mxfp4 import convert_moe_packed_tensors
    for name in [n for n in hub_experts if n.endswith("_blocks")]:
        plain = name.removesuffix("_blocks")
        decoded = convert_moe_packed_tensors(hub_experts[name], hub_experts[plain + "_scales"], dtype=torch.float32)
        assert torch.equal(decoded, tensors[plain]), f"{plain}: transformers decodes the MXFP4 blocks differently"
    for name in list(tensors):
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            del tensors[name]
    tensors.update(hub_experts)
    save_file(tensors, twin / "model.safetensors", metadata={"format": "pt", "experts": "mxfp4"})
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": [
        "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    (twin / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for name in ["expected.safetensors", "expected-unpadded.safetensors"]:
        shutil.copyfile(folder / name, twin / name)
    if (folder / "generation_config.json").exists():
        shutil.copyfile(folder / "generation_config.json", twin / "generation_config.json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_type", choices=sorted(MODELS))
    parser.add_argument("--out", default="Tests/Fixtures/models")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, cls, scores = MODELS[args.model_type]()
    ids = torch.tensor(INPUT_IDS)
    mask = (ids != 0).long()
    for seed in range(1000, 1100):
        torch.manual_seed(seed)
        model = cls(config).eval()
        randomize(model, seed)
        hub_experts = round_experts_to_mxfp4(model) if args.model_type == "gpt_oss" else None
        positions, hidden, routers, logits = run(model, ids, mask)
        gap = smallest_gap(model, scores, routers, mask, config.num_experts_per_tok)
        if gap >= MIN_GAP.get(args.model_type, 1e-3):
            break
    else:
        raise SystemExit(f"no seed in 1000..1099 gives router gaps >= {MIN_GAP.get(args.model_type, 1e-3)}")
    folder = Path(args.out) / f"{args.model_type}-tiny"
    model.save_pretrained(folder)
    metadata = {"fixture": folder.name, "architecture": config.model_type, "init_seed": str(seed),
                "torch_version": torch.__version__, "transformers_version": transformers.__version__,
                "weights_dtype_on_disk": "float32", "compute_dtype": "float32",
                "attn_implementation": model.config._attn_implementation,
                "hidden_states_last_entry": "after the final RMSNorm (model.norm)",
                "router_logits": "the router module's own logits (output_router_logits), before any softmax or top-k",
                "min_router_gap": f"{gap:.3e}", "pad_id": "0",
                "position_ids": "passed explicitly: cumsum(attention_mask)-1, pads set to 0 (= transformers generate())"}
    layers = torch.tensor(moe_layers(model))
    save_file({"input_ids": ids, "attention_mask": mask, "position_ids": positions, "hidden_states": hidden.contiguous(),
               "router_logits": routers.contiguous(), "router_layers": layers, "logits_last": logits.contiguous()},
              folder / "expected.safetensors", metadata=metadata)
    unpadded = {}
    for b in range(ids.shape[0]):
        real = ids[b][mask[b].bool()].unsqueeze(0)
        _, h, r, lg = run(model, real, torch.ones_like(real))
        unpadded[f"input_ids_{b}"] = real[0].contiguous()
        unpadded[f"hidden_states_{b}"] = h[:, 0].contiguous()
        unpadded[f"router_logits_{b}"] = r[:, 0].contiguous()
        unpadded[f"logits_last_{b}"] = lg[0].contiguous()
    save_file(unpadded, folder / "expected-unpadded.safetensors", metadata=metadata)
    if hub_experts is not None:
        write_mxfp4_twin(folder, hub_experts, metadata)
    print(json.dumps({"folder": str(folder), "seed": seed, "min_router_gap": gap,
                      "max_abs_hidden": hidden[:, mask.bool()].abs().max().item()}))


if __name__ == "__main__":
    main()
