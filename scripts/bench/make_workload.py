#!/usr/bin/env python3
"""Writes scripts/bench/workload.json: the fixed, seeded workload of `pipeline bench extract` and
scripts/bench/hf_reference.py: 64 sequences of 16-64 token ids drawn uniformly from 1..50303 (OLMoE's vocabulary).
Standard library only (Python's `random` with a fixed seed is stable across versions for randint).
Usage: make_workload.py [OUT] [--seed S]
"""
import argparse, json, os, random

p = argparse.ArgumentParser()
p.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(__file__), "workload.json"))
p.add_argument("--seed", type=int, default=6)
a = p.parse_args()
rng = random.Random(a.seed)
sequences = [[rng.randint(1, 50303) for _ in range(rng.randint(16, 64))] for _ in range(64)]
with open(a.out, "w") as f:
    json.dump({"seed": a.seed, "sequences": sequences}, f, separators=(",", ":"))
    f.write("\n")
print(f"{a.out}: {len(sequences)} sequences, {sum(map(len, sequences))} tokens")
