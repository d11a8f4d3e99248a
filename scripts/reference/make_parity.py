#!/usr/bin/env python3
"""Reference numbers for the Swift parity tests: mteb's own task classes and evaluators, run offline on
deterministic "hashed" embeddings of slices of every task in ../shared/data/mteb.

The embeddings are re-derived identically in Swift (`Sources/Score/Evaluation/HashedEmbeddings.swift`), so no
vectors are committed, only the metrics: Tests/ScoreTests/Fixtures/mteb_reference.json.

    /work/venv/bin/python scripts/reference/make_parity.py [--data ../shared/data/mteb] [--out FILE]

Variants: `bow` (bag-of-words sums of per-token hashed vectors: non-normalised, duplicate-token texts tie),
`bow-scaled` (rows scaled by 1 + fnv1a64(sorted tokens joined by " ") % 7), so that cosine, dot and euclidean
disagree, and `bow-zeros` (zero rows where fnv1a64(text) % 37 == 0), for mteb's zero-vector conventions.
"""
import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np
import datasets
from datasets import Dataset, DatasetDict

import mteb
from mteb.models.abs_encoder import AbsEncoder

DIMENSION = 64
VARIANTS = ("bow", "bow-scaled", "bow-zeros")
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


# ---- hashed embeddings (mirror of HashedEmbeddings.swift) -------------------------------------------------

def fnv1a64(text: str) -> int:
    h = 0xcbf29ce484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def hashed_vector(text: str, dimension: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(text)) + (np.arange(1, dimension + 1, dtype=np.uint64) * GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) / np.float32(16777216) - np.float32(0.5)).astype(np.float32)


class BagOfWords:
    def __init__(self, dimension: int, scaled: bool = False, zeros: bool = False):
        self.dimension, self.scaled, self.zeros, self.tokens, self.rows = dimension, scaled, zeros, {}, {}

    def __call__(self, text: str) -> np.ndarray:
        row = self.rows.get(text)
        if row is not None:
            return row
        total = np.zeros(self.dimension, dtype=np.float32)
        # Tokens in UTF-8 byte order: texts with the same words in any order get bit-identical vectors
        # (true ties), never vectors one rounding apart whose order would be float32 noise.
        tokens = sorted((t for t in text.split(" ") if t), key=lambda t: t.encode("utf-8"))
        for token in tokens:
            vector = self.tokens.get(token)
            if vector is None:
                vector = self.tokens[token] = hashed_vector(token, self.dimension)
            total = total + vector  # float32, token order, like the Swift loop
        if self.scaled:  # by the bag, so that equal bags stay bit-identical
            total = total * np.float32(1 + fnv1a64(" ".join(tokens)) % 7)
        if self.zeros and fnv1a64(text) % 37 == 0:
            total = np.zeros(self.dimension, dtype=np.float32)
        self.rows[text] = total
        return total


class HashedEncoder(AbsEncoder):
    """mteb encoder returning the hashed vectors; similarity falls back to mteb's cos_sim (no model meta)."""

    def __init__(self, embed):
        self.embed = embed
        self.model_name = "hashed"
        self.mteb_model_meta = None
        self.encoded = set()

    def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs):
        rows = []
        for batch in inputs:
            for text in batch["text"]:
                self.encoded.add(text)
                rows.append(self.embed(text))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, DIMENSION), dtype=np.float32)


# ---- tasks ------------------------------------------------------------------------------------------------

def read_jsonl(path: Path, limit=None):
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def make_task(name: str, folder: Path, limit):
    """An mteb task object whose data is our folder's records (no hub access)."""
    test = read_jsonl(folder / "test.jsonl", limit)
    if name == "TwitterURLReranking":
        from mteb.abstasks.text import reranking
        from mteb.tasks.reranking.eng.ask_ubuntu_dup_questions import AskUbuntuDupQuestions

        class OldFormatReranking(reranking.AbsTaskReranking):
            metadata = AskUbuntuDupQuestions.metadata  # scored like AskUbuntuDupQuestions (README)

        reranking.OLD_FORMAT_RERANKING_TASKS.append(AskUbuntuDupQuestions.metadata.name)
        task = OldFormatReranking()
        task.transform_old_dataset_format(DatasetDict({"test": Dataset.from_list(test)}))
        return task
    task = mteb.get_task(name)
    kind = task.metadata.type
    if kind == "PairClassification":
        split = Dataset.from_dict({"sentence1": [r["sentence1"] for r in test],
                                   "sentence2": [r["sentence2"] for r in test],
                                   "labels": [r["label"] for r in test]})
        task.dataset = DatasetDict({"test": split})
    elif kind == "Classification":
        train = read_jsonl(folder / "train.jsonl")
        task.dataset = DatasetDict({"train": Dataset.from_list(train), "test": Dataset.from_list(test)})
    elif kind == "Clustering":
        subsets = json.load(open(folder / "task.json")).get("hf_subsets") or {
            "SIB200ClusteringS2S": ["eng_Latn"], "ClusTREC-Covid": ["title and abstract", "title"]}[name]
        task.hf_subsets = subsets
        task.dataset = {subset: DatasetDict({"test": Dataset.from_dict({"sentences": s["sentences"], "labels": s["labels"]})})
                        for subset, s in zip(subsets, test)}
    else:  # STS, Summarization: the records as they are
        task.dataset = DatasetDict({"test": Dataset.from_list(test)})
    task.data_loaded = True
    return task


# (task folder, record limit or None for all) -- one slice or more of every type.
CASES = [
    ("STSBenchmark", None), ("STS12", None), ("BIOSSES", None),
    ("SummEval", None),
    ("TwitterURLCorpus", 4000),
    ("TwitterURLReranking", 600),
    ("EmotionClassification", None), ("TweetSentimentExtractionClassification", None), ("Banking77Classification", None),
    ("SIB200ClusteringS2S", None), ("ClusTREC-Covid", None),
]


def main():
    parser = argparse.ArgumentParser()
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--data", default=str(root.parent / "shared" / "data" / "mteb"))
    parser.add_argument("--out", default=str(root / "Tests" / "ScoreTests" / "Fixtures" / "mteb_reference.json"))
    parser.add_argument("--only", nargs="*", help="task names to run (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    datasets.disable_progress_bars()

    import scipy, sklearn, torch
    output = {
        "generator": "scripts/reference/make_parity.py",
        "versions": {"mteb": mteb.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__, "torch": torch.__version__, "datasets": datasets.__version__,
                     "python": sys.version.split()[0]},
        "embeddings": {"kind": "hashed bag of words", "dimension": DIMENSION,
                       "variants": list(VARIANTS)},
        "cases": [],
    }
    for name, limit in CASES:
        if args.only and name not in args.only:
            continue
        for variant in VARIANTS:
            task = make_task(name, Path(args.data) / name, limit)
            encoder = HashedEncoder(BagOfWords(DIMENSION, scaled=variant == "bow-scaled", zeros=variant == "bow-zeros"))
            start = time.time()
            scores = task.evaluate(encoder, split="test", encode_kwargs={"batch_size": 512})
            subsets = []
            for subset, metrics in scores.items():
                flat = {k: (float(v) if np.isfinite(v) else None)  # JSON has no NaN: null
                        for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                subsets.append({"hf_subset": subset, "main_score": float(metrics["main_score"]), "metrics": flat})
            output["cases"].append({"task": name, "type": task.metadata.type, "limit": limit, "variant": variant,
                                    "encoded_texts": len(encoder.encoded), "subsets": subsets})
            print(f"{name:40s} {variant:18s} main={np.mean([s['main_score'] for s in subsets]):.6f} "
                  f"texts={len(encoder.encoded)} ({time.time() - start:.1f}s)", flush=True)
    Path(args.out).write_text(json.dumps(output, indent=1, sort_keys=True, allow_nan=False) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
