"""Tiny random MoE checkpoints made by transformers, with the activations transformers computes for them: the
reference fixtures of the model types added after the shared ones (issue 12), in the shared fixtures' format
(Tests/Fixtures/models/README.md: config.json, model.safetensors, expected.safetensors, expected-unpadded.safetensors).

Usage: /tmp/venv/bin/python scripts/reference/make_moe_fixture.py granitemoe [--out Tests/Fixtures/models]
Needs torch and transformers (recorded: torch 2.15.0, transformers 5.25.0, CPU, float32). Seeded: the same versions
write the same files. The init seed is the first from 1000 up for which every valid token of every MoE layer has a
gap of at least 1e-3 between its k-th and (k+1)-th router logit, so float32 noise cannot flip an expert choice.
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
    return config, transformers.GraniteMoeForCausalLM, "router"


MODELS = {"granitemoe": granitemoe}


def randomize(model, seed):
    """Every weight N(0, 0.1), norm weights 1 + N(0, 0.1): larger than the default init, so activations are O(1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * 0.1
            parameter.copy_(1 + noise if "norm" in name else noise)


def run(model, ids, mask):
    positions = (mask.cumsum(-1) - 1).clamp(min=0) * mask
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, output_hidden_states=True,
                    output_router_logits=True)
    b, t = ids.shape
    routers = torch.stack([r.reshape(b, t, -1) for r in out.router_logits])
    return positions, torch.stack(out.hidden_states), routers, out.logits[:, -1]


def smallest_gap(routers, mask, k):
    top = routers.float().topk(k + 1, dim=-1).values
    gap = top[..., k - 1] - top[..., k]
    return gap[:, mask.bool()].min().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_type", choices=sorted(MODELS))
    parser.add_argument("--out", default="Tests/Fixtures/models")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, cls, router_name = MODELS[args.model_type]()
    ids = torch.tensor(INPUT_IDS)
    mask = (ids != 0).long()
    for seed in range(1000, 1100):
        torch.manual_seed(seed)
        model = cls(config).eval()
        randomize(model, seed)
        positions, hidden, routers, logits = run(model, ids, mask)
        gap = smallest_gap(routers, mask, config.num_experts_per_tok)
        if gap >= 1e-3:
            break
    else:
        raise SystemExit("no seed in 1000..1099 gives router gaps >= 1e-3")
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
    layers = torch.arange(config.num_hidden_layers)
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
    print(json.dumps({"folder": str(folder), "seed": seed, "min_router_gap": gap,
                      "max_abs_hidden": hidden[:, mask.bool()].abs().max().item()}))


if __name__ == "__main__":
    main()
