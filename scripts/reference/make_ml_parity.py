"""Reference scores for the Classification and Clustering parity tests (Tests/ScoreTests/*/ML*ParityTests).

Runs mteb's own task classes (AbsTaskClassification, AbsTaskClustering: undersampling, sampling, bootstrap,
LogisticRegression, MiniBatchKMeans, metrics) offline on the data in ../shared/data/mteb, with a fake encoder
that returns FIXED synthetic embeddings. The embeddings need no fixture file: both this script and the Swift
tests make them from NumPy's RandomState stream (ported in Sources/Score/Random):

  centroids (one per label, labels sorted as strings): RandomState(CENTROID_SEED).random_sample(dim) * 2 - 1
  per record, in file order (train rows, then test rows; clustering subsets in order), a noise vector
  RandomState(NOISE_SEED).random_sample(dim) * 2 - 1 is drawn; the text's embedding is
  float32(centroid[label] + scale * noise) of the text's FIRST record (mteb encodes texts, so equal texts
  must get equal vectors).

Writes Tests/ScoreTests/Fixtures/ml-parity.json. Run: /work/venv/bin/python scripts/reference/make_ml_parity.py
"""
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
import mteb
from datasets import Dataset, DatasetDict

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "mteb"
DIM = 32
CENTROID_SEED = 1234
NOISE_SEED = 5678


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def embedding_table(records, scale):
    """records: list of (text, label) in stream order. Returns {text: float32 vector}."""
    labels = sorted({str(label) for _, label in records})
    centroid_rs = np.random.RandomState(CENTROID_SEED)
    centroids = {label: centroid_rs.random_sample(DIM) * 2.0 - 1.0 for label in labels}
    noise_rs = np.random.RandomState(NOISE_SEED)
    table = {}
    for text, label in records:
        noise = noise_rs.random_sample(DIM) * 2.0 - 1.0
        if text not in table:
            table[text] = (centroids[str(label)] + scale * noise).astype(np.float32)
    return table


class FixedEncoder:
    """Looks every text up in a table; what mteb's EncoderProtocol needs and nothing more."""

    def __init__(self, table):
        self.table = table
        self.mteb_model_meta = None

    def encode(self, inputs, *, task_metadata=None, hf_split=None, hf_subset=None, prompt_type=None, **kwargs):
        rows = []
        for batch in inputs:
            texts = batch["text"] if "text" in batch else batch["sentences"]
            rows.extend(self.table[t] for t in texts)
        return np.stack(rows).astype(np.float32)

    def similarity(self, a, b):
        raise NotImplementedError

    def similarity_pairwise(self, a, b):
        raise NotImplementedError


CLASSIFICATION = {"EmotionClassification": 2.0, "Banking77Classification": 1.2,
                  "TweetSentimentExtractionClassification": 3.0}
CLUSTERING = {"SIB200ClusteringS2S": (["eng_Latn"], 2.5), "ClusTREC-Covid": (["title and abstract", "title"], 2.5)}


# A binary case (none of the real tasks is binary): EmotionClassification restricted to labels 0 and 1,
# run through mteb's EmotionClassification class, so that `ap` / `ap_weighted` are exercised.
BINARY = {"EmotionClassification-binary": ("EmotionClassification", {0, 1}, 2.0)}


def run_classification(name, scale, keep=None):
    train = read_jsonl(DATA / name / "train.jsonl")
    test = read_jsonl(DATA / name / "test.jsonl")
    if keep is not None:
        train = [r for r in train if r["label"] in keep]
        test = [r for r in test if r["label"] in keep]
    records = [(r["text"], r["label"]) for r in train] + [(r["text"], r["label"]) for r in test]
    table = embedding_table(records, scale)
    task = mteb.get_task(name)
    task.dataset = {"default": DatasetDict({
        "train": Dataset.from_dict({"text": [r["text"] for r in train], "label": [r["label"] for r in train]}),
        "test": Dataset.from_dict({"text": [r["text"] for r in test], "label": [r["label"] for r in test]}),
    })}
    task.data_loaded = True
    start = time.perf_counter()
    scores = task.evaluate(FixedEncoder(table), "test", encode_kwargs={"batch_size": 1024})["default"]
    elapsed = time.perf_counter() - start
    # The undersampled training sets, replayed with mteb's own method.
    ds = task.dataset["default"]["train"]
    idxs, experiments = None, []
    for i in range(task.n_experiments):
        _, idxs, selected = task._undersample_data(ds, i, idxs)
        experiments.append([int(x) for x in selected])
    return {
        "scale": scale, "samples_per_label": task.samples_per_label, "seconds": elapsed,
        "main_score": scores["main_score"],
        "metrics": {k: v for k, v in scores.items() if isinstance(v, float) and math.isfinite(v)},
        "accuracy_per_experiment": [e["accuracy"] for e in scores["scores_per_experiment"]],
        "experiments": experiments,
    }


def run_clustering(name, subsets, scale):
    lines = read_jsonl(DATA / name / "test.jsonl")
    records = [(t, l) for line in lines for t, l in zip(line["sentences"], line["labels"])]
    table = embedding_table(records, scale)
    task = mteb.get_task(name)
    task.dataset = {subset: DatasetDict({"test": Dataset.from_dict({"sentences": line["sentences"], "labels": line["labels"]})})
                    for subset, line in zip(subsets, lines)}
    task.hf_subsets = subsets
    task.data_loaded = True
    start = time.perf_counter()
    scores = task.evaluate(FixedEncoder(table), "test", encode_kwargs={"batch_size": 1024})
    elapsed = time.perf_counter() - start
    # The sampling mteb did, replayed on a fresh random.Random(42) exactly as _evaluate_subset draws it.
    import random
    rng = random.Random(42)
    picked = []
    for line in lines:
        n = len(line["sentences"])
        k = task.max_document_to_embed if task.max_fraction_of_documents_to_embed is None else int(task.max_fraction_of_documents_to_embed * n)
        k = min(n, k)
        chosen = rng.sample(range(n), k)
        picked.append(chosen[:20])
        for _ in range(task.n_clusters):
            rng.choices(range(k), k=task.max_documents_per_cluster)
    return {
        "scale": scale, "seconds": elapsed,
        "main_score": float(np.mean([scores[s]["main_score"] for s in subsets])),
        "subsets": {s: {"v_measure": scores[s]["v_measure"], "v_measure_std": scores[s]["v_measure_std"],
                        "ami": scores[s]["ami"], "v_measures": scores[s]["v_measures"]["Level 0"],
                        "ami_scores": scores[s]["ami_scores"]["Level 0"]} for s in subsets},
        "picked_prefix": picked,
    }


def main():
    only = set(sys.argv[1:])   # names given: recompute only those, keep the other entries of the file
    path = ROOT / "Tests/ScoreTests/Fixtures/ml-parity.json"
    previous = json.loads(path.read_text()) if only and path.exists() else {}
    out = {"generator": "scripts/reference/make_ml_parity.py",
           "versions": {"python": platform.python_version(), "mteb": mteb.__version__, "numpy": np.__version__,
                        "scipy": scipy.__version__, "scikit-learn": sklearn.__version__},
           "dim": DIM, "centroid_seed": CENTROID_SEED, "noise_seed": NOISE_SEED,
           "classification": previous.get("classification", {}), "clustering": previous.get("clustering", {})}
    for name, scale in CLASSIFICATION.items():
        if only and name not in only:
            continue
        out["classification"][name] = run_classification(name, scale)
        print(name, out["classification"][name]["main_score"], f'{out["classification"][name]["seconds"]:.2f}s')
    for name, (task, keep, scale) in BINARY.items():
        if only and name not in only:
            continue
        out["classification"][name] = run_classification(task, scale, keep)
        print(name, out["classification"][name]["main_score"], f'{out["classification"][name]["seconds"]:.2f}s')
    for name, (subsets, scale) in CLUSTERING.items():
        if only and name not in only:
            continue
        out["clustering"][name] = run_clustering(name, subsets, scale)
        print(name, out["clustering"][name]["main_score"], f'{out["clustering"][name]["seconds"]:.2f}s')
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
