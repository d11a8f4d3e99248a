#!/usr/bin/env python3
"""Exports MTEB tasks as moee task folders (the format of ../shared/data/mteb/README.md).

On a machine with network access (the Hugging Face hub):

    python scripts/export_mteb.py STS22 AmazonCounterfactualClassification --out data/mteb
    python scripts/export_mteb.py SIB200ClusteringS2S --subsets eng_Latn --out data/mteb

Each task is loaded through the `mteb` package (task.load_data(), which applies mteb's own dataset_transform)
and written as OUT/<TaskName>/:
  * test.jsonl (the task's evaluation split; the first of metadata.eval_splits when it has several) and, for
    Classification, train.jsonl (the task's train_split);
  * task.json: name, type, main score, split sizes, the dataset path and revision (dataset_revision), hf_subsets,
    languages, the mteb version, and the
    evaluation parameters the task overrides (samples_per_label and n_experiments for Classification,
    max_document_to_embed / max_fraction_of_documents_to_embed for Clustering), which moee's evaluators honour.

Records, one JSON object per line (UTF-8, not ASCII-escaped):
  STS {sentence1, sentence2, score}; PairClassification {sentence1, sentence2, label}; Classification {text, label};
  Clustering one line per hf_subset {sentences: [...], labels: [...]}; Summarization {text, human_summaries,
  machine_summaries, relevance}; Reranking {query, positive: [...], negative: [...]} (from mteb 2's retrieval
  layout: the top-ranked candidates of each query, split by relevance > 0).

Tasks with several hf_subsets are only supported for Clustering (one line per subset); pick one subset of other
types with --subsets. The conversion is tested offline by scripts/test_export_mteb_roundtrip.py.
"""
import argparse
import json
import sys
from pathlib import Path

EXPORTED_TYPES = {"STS", "PairClassification", "Classification", "Clustering", "Summarization", "Reranking"}


def _write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _rows(split):
    """A datasets.Dataset (or a dict of columns, or a list of rows) as a list of dicts."""
    if isinstance(split, list):
        return split
    if isinstance(split, dict):
        columns = list(split)
        return [dict(zip(columns, values)) for values in zip(*(split[c] for c in columns))]
    return split.to_list()


def _expand_single_row(rows, columns):
    """mteb v1 stored some datasets as one row of lists; mteb 2 still accepts that layout (len == 1)."""
    if len(rows) == 1 and all(isinstance(rows[0][c], list) for c in columns):
        row = rows[0]
        return [dict(zip(columns, values)) for values in zip(*(row[c] for c in columns))]
    return rows


def _subset_data(task, subset):
    return task.dataset[subset] if task.metadata.is_multilingual else task.dataset


def _label(value):
    # Labels are kept as mteb has them (ints or strings); nested label paths keep their first level.
    return value[0] if isinstance(value, list) else value


def convert_sts(task, data, split):
    first, second = task.column_names
    return [{"sentence1": r[first], "sentence2": r[second], "score": r["score"]} for r in _rows(data[split])]


def convert_pair_classification(task, data, split):
    a, b, y = task.input1_column_name, task.input2_column_name, task.label_column_name
    rows = _expand_single_row(_rows(data[split]), [a, b, y])
    return [{"sentence1": r[a], "sentence2": r[b], "label": r[y]} for r in rows]


def convert_classification(task, data, split):
    x, y = task.input_column_name, task.label_column_name
    return [{"text": r[x], "label": _label(r[y])} for r in _rows(data[split])]


def convert_clustering_subset(task, data, split):
    x, y = task.input_column_name, task.label_column_name
    rows = _rows(data[split])
    if rows and isinstance(rows[0][x], list):  # legacy layout: each row is a whole clustering set
        return [{"sentences": r[x], "labels": [str(_label(l)) for l in r[y]]} for r in rows]
    return [{"sentences": [r[x] for r in rows], "labels": [str(_label(r[y])) for r in rows]}]


def convert_summarization(task, data, split):
    return [{"text": r["text"], "human_summaries": r["human_summaries"], "machine_summaries": r["machine_summaries"],
             "relevance": r["relevance"]} for r in _rows(data[split])]


def convert_reranking(task, data, split):
    """mteb 2 keeps reranking in the retrieval layout: corpus, queries, relevant_docs, top_ranked."""
    layout = data[split]
    corpus = {r["id"]: (r.get("title", "") + " " + r["text"]).strip() if r.get("title") else r["text"]
              for r in _rows(layout["corpus"])}
    queries = {r["id"]: r["text"] for r in _rows(layout["queries"])}
    relevant, top = layout["relevant_docs"], layout["top_ranked"]
    records = []
    for query_id, query in queries.items():
        candidates = top.get(query_id, [])
        scores = relevant.get(query_id, {})
        records.append({"query": query,
                        "positive": [corpus[d] for d in candidates if scores.get(d, 0) > 0],
                        "negative": [corpus[d] for d in candidates if scores.get(d, 0) <= 0]})
    return records


CONVERTERS = {"STS": convert_sts, "PairClassification": convert_pair_classification,
              "Classification": convert_classification, "Summarization": convert_summarization,
              "Reranking": convert_reranking}


def export_task(task, out_dir, mteb_version="unknown"):
    """Writes one loaded mteb task (task.dataset filled) as OUT/<name>/; returns the folder."""
    meta = task.metadata
    if meta.type not in EXPORTED_TYPES:
        raise SystemExit(f"{meta.name}: type {meta.type} is not one of {sorted(EXPORTED_TYPES)}")
    subsets = list(task.hf_subsets)
    if meta.type != "Clustering" and len(subsets) != 1:
        raise SystemExit(f"{meta.name} has {len(subsets)} hf_subsets ({', '.join(subsets[:8])}...): choose one with --subsets")
    split = meta.eval_splits[0]
    folder = Path(out_dir) / meta.name
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    if meta.type == "Clustering":
        records = []
        for subset in subsets:
            records += convert_clustering_subset(task, _subset_data(task, subset), split)
        splits["test"] = len(records)
        splits["test_documents"] = sum(len(r["sentences"]) for r in records)
        _write_jsonl(folder / "test.jsonl", records)
    else:
        data = _subset_data(task, subsets[0])
        records = CONVERTERS[meta.type](task, data, split)
        _write_jsonl(folder / "test.jsonl", records)
        splits["test"] = len(records)
        if meta.type == "Classification":
            train = convert_classification(task, data, task.train_split)
            _write_jsonl(folder / "train.jsonl", train)
            splits = {"train": len(train), "test": len(records)}
    info = {"name": meta.name, "type": meta.type, "main_score": meta.main_score, "splits": splits,
            "dataset_revision": meta.dataset.get("revision"),
            "source": {"dataset": meta.dataset.get("path"), "revision": meta.dataset.get("revision"),
                       "split": split, "hf_subsets": subsets},
            "exported_by": "scripts/export_mteb.py", "mteb_version": mteb_version}
    # Read by moee's task loader: the subset names of the result JSON (one per clustering line) and languages.
    info["hf_subsets"] = subsets
    if isinstance(meta.eval_langs, list):
        info["languages"] = list(meta.eval_langs)
    if meta.type == "Classification":
        info["samples_per_label"] = task.samples_per_label
        info["n_experiments"] = task.n_experiments
    if meta.type == "Clustering":
        info["max_document_to_embed"] = task.max_document_to_embed
        info["max_fraction_of_documents_to_embed"] = task.max_fraction_of_documents_to_embed
    (folder / "task.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="+", metavar="TASK", help="mteb task names")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the task folders into")
    parser.add_argument("--subsets", help="comma-separated hf_subsets to keep (e.g. eng_Latn)")
    args = parser.parse_args()
    import mteb  # imported here so --help works without it

    for name in args.tasks:
        kwargs = {"hf_subsets": args.subsets.split(",")} if args.subsets else {}
        task = mteb.get_task(name, **kwargs)
        task.load_data()
        folder = export_task(task, args.out, mteb.__version__)
        print(f"{name}: wrote {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
