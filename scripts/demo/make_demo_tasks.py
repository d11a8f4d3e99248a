#!/usr/bin/env python3
"""Cuts the small, committed demo slice of real MTEB tasks (demo/tasks) from ../shared/data/mteb.

One task per task type, a few hundred texts in all, chosen so that the sampling of mteb's evaluators still
works on the slice:
  * Classification keeps 12 train rows per label and sets "samples_per_label": 8 (10 experiments of 8 per label
    drawn from 12 per label), 6 test rows per label;
  * Clustering keeps 60 sentences of the one SIB-200 pool and sets "max_document_to_embed": 60 with
    "max_fraction_of_documents_to_embed": null (the real task does the same with 1004), so all 60 are embedded.
Selection is deterministic: random.Random(SEED) per task, indices sorted so the slice keeps file order.
Every task.json keeps the original provenance and says it is a slice ("slice": {...}).

Usage: scripts/demo/make_demo_tasks.py [--mteb ../shared/data/mteb] [--out demo/tasks]
Uses only the Python standard library.
"""
import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

SEED = 20241001


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def sample_sorted(rng, n, k):
    return sorted(rng.sample(range(n), min(n, k)))


def per_label(rng, records, k):
    """k records of every label, in file order."""
    by_label = defaultdict(list)
    for i, record in enumerate(records):
        by_label[record["label"]].append(i)
    keep = []
    for label in sorted(by_label, key=str):
        keep += rng.sample(by_label[label], min(k, len(by_label[label])))
    return [records[i] for i in sorted(keep)]


def slice_sts(records, rng):
    return [records[i] for i in sample_sorted(rng, len(records), 40)]


def slice_pairs(records, rng):
    # 20 positive and 20 negative pairs, so AP is meaningful.
    return per_label(rng, records, 20)


def slice_summarization(records, rng):
    return [records[i] for i in sample_sorted(rng, len(records), 4)]


def slice_reranking(records, rng):
    # Queries with a handful of candidates keep the slice small.
    small = [i for i, r in enumerate(records) if len(r["positive"]) + len(r["negative"]) <= 8]
    return [records[i] for i in sorted(rng.sample(small, 12))]


def slice_clustering(records, rng):
    (pool,) = records  # SIB-200 eng_Latn: one line, the whole pool
    keep = sample_sorted(rng, len(pool["sentences"]), 60)
    return [{"sentences": [pool["sentences"][i] for i in keep], "labels": [pool["labels"][i] for i in keep]}]


# task name -> (split -> slicer, task.json overrides honoured by the evaluators)
TASKS = {
    "STSBenchmark": ({"test": slice_sts}, {}),
    "SummEval": ({"test": slice_summarization}, {}),
    "TwitterURLCorpus": ({"test": slice_pairs}, {}),
    "TwitterURLReranking": ({"test": slice_reranking}, {}),
    "EmotionClassification": (
        {"train": lambda r, rng: per_label(rng, r, 12), "test": lambda r, rng: per_label(rng, r, 6)},
        {"samples_per_label": 8, "n_experiments": 10},
    ),
    "SIB200ClusteringS2S": (
        {"test": slice_clustering},
        {"max_document_to_embed": 60, "max_fraction_of_documents_to_embed": None},
    ),
}


def count_texts(task_type, records):
    if task_type in ("STS", "PairClassification"):
        return 2 * len(records)
    if task_type == "Summarization":
        return sum(len(r["human_summaries"]) + len(r["machine_summaries"]) for r in records)
    if task_type == "Reranking":
        return sum(1 + len(r["positive"]) + len(r["negative"]) for r in records)
    if task_type == "Clustering":
        return sum(len(r["sentences"]) for r in records)
    return len(records)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--mteb", type=Path, default=root.parent / "shared" / "data" / "mteb")
    parser.add_argument("--out", type=Path, default=root / "demo" / "tasks")
    args = parser.parse_args()

    total = 0
    for name, (slicers, overrides) in TASKS.items():
        source = args.mteb / name
        task = json.loads((source / "task.json").read_text(encoding="utf-8"))
        out = args.out / name
        out.mkdir(parents=True, exist_ok=True)
        splits, texts = {}, 0
        for split, slicer in slicers.items():
            rng = random.Random(f"{SEED}-{name}-{split}")
            records = slicer(read_jsonl(source / f"{split}.jsonl"), rng)
            write_jsonl(out / f"{split}.jsonl", records)
            splits[split] = len(records)
            texts += count_texts(task["type"], records)
        task["splits"] = splits
        task.update(overrides)
        task["slice"] = {
            "note": "DEMO SLICE, not the full task: scores on it are not comparable with MTEB's.",
            "of_splits": json.loads((source / "task.json").read_text(encoding="utf-8"))["splits"],
            "made_by": "scripts/demo/make_demo_tasks.py",
            "seed": SEED,
            "texts": texts,
        }
        (out / "task.json").write_text(json.dumps(task, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name:24} {task['type']:20} {splits} {texts} texts", file=sys.stderr)
        total += texts
    print(f"total {total} texts (with repeats)", file=sys.stderr)


if __name__ == "__main__":
    main()
