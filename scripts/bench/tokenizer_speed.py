"""Tokenizer encode speed: `pipeline bench tokenize` against Hugging Face `tokenizers` on the same English texts.

Texts: the ClusTREC-Covid abstracts and the EmotionClassification train texts of ../shared/data/mteb (about 5 MB).
For each tokenizer in ../shared/models with a tokenizer.json it
  1. times HF `tokenizers` `encode_batch(texts, add_special_tokens=False)` on one thread (RAYON_NUM_THREADS=1),
     (TOKENIZERS_PARALLELISM=false) on a freshly loaded tokenizer (empty cache), then a second pass;
  2. runs `pipeline bench tokenize` (release build) on the same file;
  3. checks that `pipeline tokenize --no-special` gives exactly HF's ids for every text;
and prints tokens/s of both and the ratio ours / HF.

Run from the repository root after `swift build -c release`:
    /work/venv/bin/python scripts/bench/tokenizer_speed.py [MODEL_NAME ...]
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers starts its thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "false"  # encode_batch then runs on the calling thread

import json
import re
import subprocess
import sys
import time

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared")
PIPELINE = os.path.join(ROOT, ".build", "release", "pipeline")
MODELS = ["allenai--OLMoE-1B-7B-0924", "Qwen--Qwen1.5-MoE-A2.7B", "deepseek-ai--deepseek-moe-16b-base",
          "mistralai--Mixtral-8x7B-v0.1"]


def texts():
    found = []
    with open(os.path.join(SHARED, "data", "mteb", "ClusTREC-Covid", "test.jsonl")) as f:
        for line in f:
            found.extend(json.loads(line)["sentences"])
    with open(os.path.join(SHARED, "data", "mteb", "EmotionClassification", "train.jsonl")) as f:
        found.extend(json.loads(line)["text"] for line in f)
    return found


def main():
    models = sys.argv[1:] or MODELS
    corpus = texts()
    path = "/tmp/moee-tokenizer-bench.jsonl"
    with open(path, "w") as f:
        for text in corpus:
            f.write(json.dumps(text) + "\n")
    megabytes = sum(len(t.encode()) for t in corpus) / 1e6
    print(f"tokenizers {tokenizers.__version__}; {len(corpus)} texts, {megabytes:.2f} MB; {path}")
    for model in models:
        folder = os.path.join(SHARED, "models", model)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        rates, cpu_rates = [], []
        for _ in range(2):
            start, cpu_start = time.perf_counter(), time.process_time()
            encodings = tok.encode_batch(corpus, add_special_tokens=False)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            tokens = sum(len(e.ids) for e in encodings)
            rates.append(tokens / seconds)
            cpu_rates.append(tokens / cpu)
        ours = subprocess.run([PIPELINE, "bench", "tokenize", "--model", folder, "--input", path],
                              capture_output=True, text=True, check=True).stdout
        our_rates = [int(x) for x in re.findall(r"pass \d, 1 thread: \d+ tokens in [\d.]+ s = (\d+) tokens/s", ours)]
        our_cpu_rates = [int(x) for x in re.findall(r"cpu: (\d+) tokens/s", ours)]
        all_cores = re.search(r"all cores .*= (\d+) tokens/s", ours)
        produced = subprocess.run([PIPELINE, "tokenize", "--model", folder, "--no-special"], input=open(path).read(),
                                  capture_output=True, text=True, check=True).stdout.splitlines()
        mismatches = sum(1 for line, e in zip(produced, encodings) if json.loads(line) != e.ids)
        mismatches += abs(len(produced) - len(encodings))
        print(f"{model}: {tokens} tokens; ids identical to HF for {len(encodings) - mismatches}/{len(encodings)} texts")
        print(f"  HF tokenizers, 1 thread: pass 1 {rates[0]:,.0f} tokens/s, pass 2 {rates[1]:,.0f} tokens/s (wall); "
              f"{cpu_rates[0]:,.0f} / {cpu_rates[1]:,.0f} tokens/s (CPU time)")
        print(f"  moee,          1 thread: pass 1 {our_rates[0]:,} tokens/s, pass 2 {our_rates[1]:,} tokens/s (wall); "
              f"{our_cpu_rates[0]:,} / {our_cpu_rates[1]:,} tokens/s (CPU time); all cores {int(all_cores.group(1)):,} tokens/s")
        print(f"  ratio moee / HF by CPU time: pass 1 {our_cpu_rates[0] / cpu_rates[0]:.2f}, "
              f"pass 2 {our_cpu_rates[1] / cpu_rates[1]:.2f}")


main()
