#!/usr/bin/env python3
"""Makes the committed demo checkpoint (demo/model): a tiny, randomly initialised OLMoE with its own small tokenizer.

Made the way ../shared/fixtures/models were made (see their README, "How to recompute"): transformers' own
OlmoeForCausalLM, every parameter overwritten from torch.Generator().manual_seed(seed) in named_parameters()
order (norm weights U[0.9, 1.1], embed_tokens N(0, 0.1), routers N(0, 0.12), other matrices N(0, 0.08)), the seed
raised from 2000 until the routing margin (k-th vs (k+1)-th router logit) is >= 1e-3 on the reference inputs,
then save_pretrained (F32 safetensors, hub tensor names) and the reference activations in expected.safetensors
(same layout as the fixtures' expected.safetensors; inputs are two demo prompts, left padded, mask-derived
position_ids).

The tokenizer: a real OLMoE tokenizer.json is ~2 MB and its 50k vocabulary would make the embedding matrix alone
~13 MB at hidden size 64, so the demo has its own byte-level BPE, trained with the `tokenizers` library on the
demo task texts (demo/tasks) and the two prompt templates, with exactly the stage types of OLMoE's tokenizer.json
(NFC normalizer, ByteLevel pre-tokenizer without prefix space, BPE, TemplateProcessing post-processor adding no
special token, ByteLevel decoder) and OLMoE's special-token names (<|endoftext|> = EOS, <|padding|> = pad).

Usage: /work/venv/bin/python scripts/demo/make_demo_model.py [--out demo/model]
Needs: torch, transformers 5.24, tokenizers, safetensors (all in /work/venv). Deterministic: a rerun gives
byte-identical config, tokenizer and weights, and identical tensors in expected.safetensors (only the order of
that file's metadata keys in its header may change between runs).
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

import safetensors
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import OlmoeConfig, OlmoeForCausalLM, PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parents[2]
VOCAB_SIZE = 4096
FIRST_SEED = 2000
TEMPLATES = ['This sentence : "{text}" means in one word:"', '"{text}"']


def demo_texts(tasks: Path):
    """Every text field of the demo tasks, in a fixed order."""
    texts = []
    for task in sorted(tasks.iterdir()):
        for split in sorted(task.glob("*.jsonl")):
            for line in split.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                for key in sorted(record):
                    value = record[key]
                    if isinstance(value, str):
                        texts.append(value)
                    elif isinstance(value, list) and value and isinstance(value[0], str):
                        texts.extend(value)
    return texts


def train_tokenizer(texts):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B:1", special_tokens=[])
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
        special_tokens=["<|endoftext|>", "<|padding|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts + [t.replace("{text}", "") for t in TEMPLATES] * 50, trainer)
    return tok


def render_prompteol(text):
    """SPEC.md §5, written independently of the Swift code: period, quotes, template, underscores, trim."""
    if not text or text[-1] not in '.?!"\'':
        text += "."
    text = text.replace('"', "'")
    return TEMPLATES[0].replace("{text}", text).replace("_", " ").strip()


def init_weights(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(torch.rand(p.shape, generator=generator) * 0.2 + 0.9)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
            elif name.endswith("mlp.gate.weight"):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.12)
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.08)


def run(model, input_ids, mask):
    positions = (mask.cumsum(-1) - 1).clamp(min=0) * mask
    captured = []
    hooks = [layer.mlp.gate.register_forward_hook(
        lambda m, inputs, out: captured.append(torch.nn.functional.linear(inputs[0], m.weight)))
        for layer in model.model.layers]
    with torch.no_grad():
        out = model(input_ids, attention_mask=mask, position_ids=positions, output_hidden_states=True,
                    use_cache=False)
    for h in hooks:
        h.remove()
    B, T = input_ids.shape
    router = torch.stack([c.reshape(B, T, -1) for c in captured])
    return positions, torch.stack(out.hidden_states), router, out.logits[:, -1, :]


def routing_margin(router, mask, k):
    ranked = router.sort(-1, descending=True).values
    gap = ranked[..., k - 1] - ranked[..., k]
    return gap[:, mask.bool()].min().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "model")
    parser.add_argument("--tasks", type=Path, default=ROOT / "demo" / "tasks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    tok = train_tokenizer(demo_texts(args.tasks))
    vocab = tok.get_vocab_size()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|padding|>")
    hf_tok.save_pretrained(args.out)
    eos, pad = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|padding|>")

    config = OlmoeConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=32, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, num_experts=8, num_experts_per_tok=2, norm_topk_prob=False,
        max_position_embeddings=4096, rms_norm_eps=1e-5, rope_parameters={"rope_theta": 10000.0, "rope_type": "default"},
        pad_token_id=pad, eos_token_id=eos, bos_token_id=None, tie_word_embeddings=False, dtype="float32")

    # Reference inputs: two demo prompts (tokenized by the demo tokenizer), left padded with the pad id.
    first = json.loads((args.tasks / "STSBenchmark" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    inputs = [render_prompteol(first["sentence1"]), '"' + first["sentence2"].replace('"', "'") + '"']
    ids = [tok.encode(t).ids for t in inputs]
    T = max(map(len, ids))
    input_ids = torch.tensor([[pad] * (T - len(r)) + r for r in ids], dtype=torch.int64)
    mask = torch.tensor([[0] * (T - len(r)) + [1] * len(r) for r in ids], dtype=torch.int64)

    seed = FIRST_SEED
    while True:
        model = OlmoeForCausalLM(config)
        init_weights(model, seed)
        model.save_pretrained(args.out, safe_serialization=True)
        model = OlmoeForCausalLM.from_pretrained(args.out).eval()
        positions, hidden, router, logits_last = run(model, input_ids, mask)
        margin = routing_margin(router, mask, config.num_experts_per_tok)
        if margin >= 1e-3:
            break
        print(f"seed {seed}: routing margin {margin:.2e} < 1e-3, next seed", file=sys.stderr)
        seed += 1

    metadata = {
        "fixture": "demo-olmoe", "architecture": "olmoe", "init_seed": str(seed),
        "transformers_version": transformers.__version__, "torch_version": torch.__version__.split("+")[0],
        "tokenizers_version": tokenizers.__version__, "safetensors_version": safetensors.__version__,
        "attn_implementation": str(model.config._attn_implementation),
        "compute_dtype": "float32", "pad_id": str(pad),
        "inputs": json.dumps(inputs, ensure_ascii=False),
        "position_ids": "passed explicitly: cumsum(attention_mask)-1, pads set to 0 (= transformers 5.24 generate())",
        "hidden_states_last_entry": "after the final RMSNorm (model.norm)",
        "valid_positions_only": "compare only where attention_mask==1",
        "routing_margin": f"{margin:.3e}",
    }
    save_file({
        "input_ids": input_ids, "attention_mask": mask, "position_ids": positions,
        "hidden_states": hidden.contiguous(), "router_logits": router.contiguous(),
        "router_layers": torch.arange(config.num_hidden_layers, dtype=torch.int64),
        "logits_last": logits_last.contiguous(),
    }, args.out / "expected.safetensors", metadata=metadata)

    total = 0
    for path in sorted(args.out.iterdir()):
        size = path.stat().st_size
        total += size
        print(f"{path.name:28} {size:9d} B  sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}", file=sys.stderr)
    print(f"total {total} B; vocab {vocab}; seed {seed}; margin {margin:.2e}; inputs {[len(r) for r in ids]} tokens",
          file=sys.stderr)


if __name__ == "__main__":
    main()
