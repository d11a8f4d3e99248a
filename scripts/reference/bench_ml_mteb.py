"""Times mteb 2.26.24's classification and clustering evaluation on the synthetic dimension-3072 data of
ClassificationEvaluator.benchmark / ClusteringEvaluator.benchmark (Sources/Score/*/...Benchmark.swift), built from
the same NumPy RandomState streams, so the scores can be compared too. Encoding is a table lookup (FixedEncoder).

Run: /work/venv/bin/python scripts/reference/bench_ml_mteb.py
Swift side: MOEE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter EvaluatorBenchmark
"""
import random
import time

import numpy as np
import mteb
from datasets import Dataset, DatasetDict

from make_ml_parity import FixedEncoder

DIM = 3072
RESULT = {}


def classification(classes=77, train_rows=10003, test_rows=3080):
    rs = np.random.RandomState(7)
    centroids = [(rs.random_sample(DIM) * 2 - 1).astype(np.float32) for _ in range(classes)]

    def rows(count, prefix):
        texts, labels, table = [], [], {}
        for i in range(count):
            label = rs.randint(0, classes)
            noise = (rs.random_sample(DIM) * 16 - 8).astype(np.float32)
            text = f"{prefix}{i}"
            table[text] = centroids[label] + noise
            texts.append(text)
            labels.append(f"class{label}")
        return texts, labels, table

    train_texts, train_labels, table = rows(train_rows, "train")
    test_texts, test_labels, test_table = rows(test_rows, "test")
    table.update(test_table)
    task = mteb.get_task("Banking77Classification")
    task.dataset = {"default": DatasetDict({
        "train": Dataset.from_dict({"text": train_texts, "label": train_labels}),
        "test": Dataset.from_dict({"text": test_texts, "label": test_labels})})}
    task.data_loaded = True
    start = time.perf_counter()
    scores = task.evaluate(FixedEncoder(table), "test", encode_kwargs={"batch_size": 4096})["default"]
    elapsed = time.perf_counter() - start
    RESULT["classification"] = {"seconds": elapsed, "accuracy": scores["main_score"],
                                "accuracy_per_experiment": [e["accuracy"] for e in scores["scores_per_experiment"]]}
    return elapsed, scores["main_score"]


def clustering(documents=2284, topics=50, subsets=2):
    rs = np.random.RandomState(11)
    centroids = [(rs.random_sample(DIM) * 2 - 1).astype(np.float32) for _ in range(topics)]
    labels = [[f"topic{rs.randint(0, topics)}" for _ in range(documents)] for _ in range(subsets)]
    # The documents mteb will embed, in its order (random.Random(42): sample, then 10 bootstrap draws, per subset).
    stream = random.Random(42)
    table = {}
    for s in range(subsets):
        k = int(0.04 * documents)
        for index in stream.sample(range(documents), k):
            noise = (rs.random_sample(DIM) * 5 - 2.5).astype(np.float32)
            table[f"s{s}-doc{index}"] = centroids[int(labels[s][index][5:])] + noise
        for _ in range(10):
            stream.choices(range(k), k=16384)
    names = ["title and abstract", "title"][:subsets]
    task = mteb.get_task("ClusTREC-Covid")
    # Documents not embedded get a placeholder text; mteb only encodes the sampled ones.
    task.dataset = {name: DatasetDict({"test": Dataset.from_dict({
        "sentences": [f"s{s}-doc{i}" for i in range(documents)], "labels": labels[s]})})
        for s, name in enumerate(names)}
    task.hf_subsets = names
    task.data_loaded = True
    start = time.perf_counter()
    scores = task.evaluate(FixedEncoder(table), "test", encode_kwargs={"batch_size": 4096})
    elapsed = time.perf_counter() - start
    for n in names:
        print(f"  mteb clustering subset {n!r}: v_measures {scores[n]['v_measures']['Level 0']}")
    v = float(np.mean([scores[n]["main_score"] for n in names]))
    RESULT["clustering"] = {"seconds": elapsed, "v_measure": v,
                            "v_measures": [scores[n]["v_measures"]["Level 0"] for n in names]}
    return elapsed, v


if __name__ == "__main__":
    import sys
    if "clustering" not in sys.argv[1:]:
        seconds, accuracy = classification()
        print(f"mteb classification (Banking77 shape, dim {DIM}, 10 experiments): {seconds:.3f} s, accuracy {accuracy:.6f}")
    seconds, v = clustering()
    import json, platform, sklearn
    from pathlib import Path
    RESULT["versions"] = {"python": platform.python_version(), "mteb": mteb.__version__, "numpy": np.__version__,
                          "scikit-learn": sklearn.__version__}
    RESULT["note"] = "seconds were measured on a shared 2-core machine; only the scores are compared by tests"
    out = Path(__file__).resolve().parents[2] / "Tests/ScoreTests/Fixtures/ml-bench-mteb.json"
    if "clustering" not in sys.argv[1:]:
        out.write_text(json.dumps(RESULT, indent=1) + "\n")
    print(f"mteb clustering (ClusTREC-Covid shape, dim {DIM}, 2 subsets x 10 runs): {seconds:.3f} s, v_measure {v:.6f}")
