#!/usr/bin/env python3
"""The peer of `pipeline bench extract`: Hugging Face transformers on the same checkpoint and workload.

Runs the base model (no lm_head) with output_hidden_states and output_router_logits (what extract keeps), torch
threads = cores, under inference_mode. Sequences are sorted by length and packed into right-padded batches of at
most --token-budget padded tokens (sorted, so padding stays small); tokens/s counts real tokens only. One warm-up
batch first. The last line is one JSON object with tokens_per_second and peak_rss_bytes, like ours.

Usage: hf_reference.py --model DIR [--dtype fp32|bf16] [--workload FILE] [--token-budget N]
Recorded versions: torch 2.15, transformers 5.24 (/work/venv).
"""
import argparse, json, os, resource, sys, time

import torch
import transformers
from transformers import AutoModel

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
p.add_argument("--workload", default=os.path.join(os.path.dirname(__file__), "workload.json"))
p.add_argument("--token-budget", type=int, default=4096)
a = p.parse_args()

torch.set_num_threads(os.cpu_count())
dtype = torch.float32 if a.dtype == "fp32" else torch.bfloat16
sequences = json.load(open(a.workload))["sequences"]
model = AutoModel.from_pretrained(a.model, dtype=dtype).eval()

order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
batches, current = [], []
for i in order:
    longest = len(sequences[current[0]]) if current else len(sequences[i])
    if current and (len(current) + 1) * longest > a.token_budget:
        batches.append(current)
        current = []
    current.append(i)
if current:
    batches.append(current)

def run(batch):
    width = max(len(sequences[i]) for i in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for r, i in enumerate(batch):
        ids[r, : len(sequences[i])] = torch.tensor(sequences[i])
        mask[r, : len(sequences[i])] = 1
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_router_logits=True)
    return out.hidden_states[-1].shape

with torch.inference_mode():
    run(batches[-1])  # warm-up (shortest batch)
    start = time.perf_counter()
    for b in batches:
        run(b)
    seconds = time.perf_counter() - start
tokens = sum(map(len, sequences))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"transformers {transformers.__version__} torch {torch.__version__} {a.dtype}, {torch.get_num_threads()} threads: "
      f"{len(sequences)} sequences, {tokens} real tokens, {len(batches)} batches, {seconds:.2f} s", file=sys.stderr)
print(json.dumps({"peer": "transformers", "dtype": a.dtype, "tokens_per_second": tokens / seconds,
                  "peak_rss_bytes": rss, "seconds": seconds, "real_tokens": tokens, "batches": len(batches)}))
