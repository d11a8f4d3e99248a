#!/usr/bin/env python3
"""Offline test of scripts/export_mteb.py: fills mteb's own task objects with the data of ../shared/data/mteb,
in the layout mteb's loaders produce, runs the exporter, and checks that every exported JSONL file is
byte-identical to the original (task.json differs by design: it records the export's provenance, so only its
type, main score and split sizes are compared).

Run by hand (no network; needs mteb and datasets, e.g. /work/venv):

    /work/venv/bin/python scripts/test_export_mteb_roundtrip.py [--mteb ../shared/data/mteb]

Exit status 0 when every task round-trips. TwitterURLReranking is not an mteb task (a substitute) and is
skipped; the reranking converter is exercised on a small retrieval-layout example built from it instead.
"""
import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_mteb  # noqa: E402


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def native_layout(task, folder):
    """Our task folder in the layout mteb's load_data leaves in task.dataset."""
    from datasets import Dataset, DatasetDict

    meta = task.metadata
    test = read_jsonl(folder / "test.jsonl")
    if meta.type == "STS":
        a, b = task.column_names
        return DatasetDict({"test": Dataset.from_list([{a: r["sentence1"], b: r["sentence2"], "score": r["score"]} for r in test])})
    if meta.type == "PairClassification":
        # mteb's copies keep the v1 single-row layout: one row whose columns are lists.
        row = {task.input1_column_name: [r["sentence1"] for r in test], task.input2_column_name: [r["sentence2"] for r in test],
               task.label_column_name: [r["label"] for r in test]}
        return DatasetDict({"test": Dataset.from_list([row])})
    if meta.type == "Classification":
        x, y = task.input_column_name, task.label_column_name
        train = read_jsonl(folder / "train.jsonl")
        return DatasetDict({"train": Dataset.from_list([{x: r["text"], y: r["label"]} for r in train]),
                            "test": Dataset.from_list([{x: r["text"], y: r["label"]} for r in test])})
    if meta.type == "Summarization":
        return DatasetDict({"test": Dataset.from_list(test)})
    if meta.type == "Clustering":
        x, y = task.input_column_name, task.label_column_name
        layout = {}
        for subset, record in zip(task.hf_subsets, test):
            rows = [{x: s, y: l} for s, l in zip(record["sentences"], record["labels"])]
            layout[subset] = DatasetDict({"test": Dataset.from_list(rows)})
        return layout if task.metadata.is_multilingual else layout[task.hf_subsets[0]]
    raise ValueError(meta.type)


def reranking_example(folder):
    """A retrieval-layout dict (mteb 2's reranking) built from the first records of our reranking file."""
    records = read_jsonl(folder / "test.jsonl")[:20]
    corpus, queries, relevant, top = [], [], {}, {}
    for i, r in enumerate(records):
        qid = f"q{i}"
        queries.append({"id": qid, "text": r["query"]})
        top[qid], relevant[qid] = [], {}
        for label, texts in ((1, r["positive"]), (0, r["negative"])):
            for j, text in enumerate(texts):
                did = f"d{i}-{label}-{j}"
                corpus.append({"id": did, "text": text})
                top[qid].append(did)
                relevant[qid][did] = label
    return records, {"test": {"corpus": corpus, "queries": queries, "relevant_docs": relevant, "top_ranked": top}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mteb", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "mteb")
    args = parser.parse_args()
    import mteb

    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as out:
        for folder in sorted(p for p in args.mteb.iterdir() if (p / "task.json").exists()):
            ours = json.loads((folder / "task.json").read_text(encoding="utf-8"))
            name = ours["name"]
            if ours["type"] == "Reranking":
                records, layout = reranking_example(folder)
                converted = export_mteb.convert_reranking(None, layout, "test")
                ok = [(r["query"], r["positive"], r["negative"]) for r in records] == \
                     [(r["query"], r["positive"], r["negative"]) for r in converted]
                print(f"{'ok  ' if ok else 'FAIL'} {name}: reranking converter on a retrieval layout built from 20 queries")
                failures += [] if ok else [name]
                continue
            kwargs = {"hf_subsets": ["eng_Latn"]} if name == "SIB200ClusteringS2S" else {}
            task = mteb.get_task(name, **kwargs)
            task.dataset = native_layout(task, folder)
            task.data_loaded = True
            exported = export_mteb.export_task(task, out, mteb.__version__)
            problems = []
            for split in sorted(p.name for p in folder.glob("*.jsonl")):
                if not filecmp.cmp(folder / split, exported / split, shallow=False):
                    problems.append(f"{split} differs")
            info = json.loads((exported / "task.json").read_text(encoding="utf-8"))
            for key in ("type", "main_score"):
                if info[key] != ours[key]:
                    problems.append(f"task.json {key}: {info[key]!r} vs {ours[key]!r}")
            for split, count in info["splits"].items():
                if ours["splits"].get(split) != count:
                    problems.append(f"task.json splits.{split}: {count} vs {ours['splits'].get(split)}")
            checked += 1
            print(f"{'ok  ' if not problems else 'FAIL'} {name}" + (": " + "; ".join(problems) if problems else ""))
            if problems:
                failures.append(name)
    print(f"{checked} mteb tasks round-tripped, {len(failures)} failed" + (f": {', '.join(failures)}" if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
