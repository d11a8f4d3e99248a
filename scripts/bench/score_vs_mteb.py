#!/usr/bin/env python3
"""Stage-two speed: `pipeline bench score` (Swift) against mteb 2.26.24's own evaluators on the same vectors.

Both sides use HashedEmbeddings.random vectors (dimension 3072 by default): Swift derives them itself, this
script derives the identical ones with numpy, then times `task.evaluate` of mteb's task classes (offline, data
from ../shared/data/mteb, vectors precomputed so only scoring is timed) and prints both and the ratio.

    swift build -c release --product pipeline
    /work/venv/bin/python scripts/bench/score_vs_mteb.py [--tasks STS12,SummEval] [--dimension 3072] [--no-sweep]
        [--save-mteb FILE | --mteb-timings FILE]

mteb's Classification + Clustering at dimension 3072 take many minutes; `--save-mteb FILE` records mteb's
per-task seconds and main scores (with the mteb version, dimension and load average), and `--mteb-timings FILE`
reuses such a record instead of rerunning mteb (the ratio is then against that recorded run; it says so).
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference"))

import numpy as np  # noqa: E402
import make_parity  # noqa: E402  (task construction and the hashed-vector recipe)

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def random_rows(texts, dimension):
    """HashedEmbeddings.random: row i = splitmix64 finaliser of fnv1a64(text) + (j + 1) * golden."""
    seeds = np.array([make_parity.fnv1a64(t) for t in texts], dtype=np.uint64)
    out = np.empty((len(texts), dimension), dtype=np.float32)
    steps = np.arange(1, dimension + 1, dtype=np.uint64) * GOLDEN
    with np.errstate(over="ignore"):
        for start in range(0, len(texts), 2048):
            z = seeds[start:start + 2048, None] + steps[None, :]
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            out[start:start + 2048] = (z >> np.uint64(40)).astype(np.float32) / np.float32(16777216) - np.float32(0.5)
    return out


class TableEncoder(make_parity.HashedEncoder):
    def __init__(self, rows):
        super().__init__(None)
        self.table = rows

    def encode(self, inputs, **kwargs):
        return np.stack([self.table[t] for batch in inputs for t in batch["text"]])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mteb"))
    parser.add_argument("--dimension", type=int, default=3072)
    parser.add_argument("--tasks", default=None, help="comma-separated task folders (default: all)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the Swift alpha sweep")
    parser.add_argument("--pipeline", default=str(ROOT / ".build" / "release" / "pipeline"))
    parser.add_argument("--save-mteb", default=None, help="write mteb's per-task timings to this JSON file")
    parser.add_argument("--mteb-timings", default=None, help="reuse mteb timings recorded by --save-mteb")
    args = parser.parse_args()
    recorded = None
    if args.mteb_timings:
        recorded = json.loads(Path(args.mteb_timings).read_text())
        print(f"mteb timings reused from {args.mteb_timings} (mteb {recorded['mteb']}, dimension "
              f"{recorded['dimension']}, recorded {recorded['recorded']}, load average then {recorded['load']})")
        if recorded["dimension"] != args.dimension:
            sys.exit(f"{args.mteb_timings}: recorded at dimension {recorded['dimension']}, not {args.dimension}")

    command = [args.pipeline, "bench", "score", "--json", "--data", args.data, "--dimension", str(args.dimension)]
    if args.tasks:
        command += ["--tasks", args.tasks]
    if args.no_sweep:
        command.append("--no-sweep")
    print("running:", " ".join(command), flush=True)
    swift = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)

    if recorded is None:
        import mteb
        print(f"mteb {mteb.__version__}, numpy {np.__version__}, dimension {args.dimension}", flush=True)
    rows = []
    for timing in swift["tasks"]:
        name = timing["task"]
        if recorded is not None:
            if name not in recorded["tasks"]:
                sys.exit(f"{args.mteb_timings}: no recorded mteb timing for task {name}")
            seconds, main = recorded["tasks"][name]["seconds"], recorded["tasks"][name]["main"]
            rows.append((name, timing["type"], timing["seconds"], seconds, timing.get("mainScore"), main))
            print(f"  {name:40s} swift {timing['seconds']:8.3f} s   mteb {seconds:8.3f} s (recorded)   "
                  f"x{seconds / max(timing['seconds'], 1e-9):8.1f}   main swift {timing.get('mainScore')} mteb {main:.6f}")
            continue
        task = make_parity.make_task(name, Path(args.data) / name, None)
        # Every string of the folder (and its stripped form): a superset of what mteb encodes.
        texts = set()
        for line in open(Path(args.data) / name / "test.jsonl", encoding="utf-8"):
            record = json.loads(line)
            for value in record.values():
                if isinstance(value, str):
                    texts.add(value); texts.add(value.strip())
                elif isinstance(value, list):
                    for v in value:
                        if isinstance(v, str):
                            texts.add(v); texts.add(v.strip())
        train = Path(args.data) / name / "train.jsonl"
        if train.exists():
            texts.update(json.loads(line)["text"] for line in open(train, encoding="utf-8"))
        texts = sorted(texts)
        matrix = random_rows(texts, args.dimension)
        encoder = TableEncoder({t: matrix[i] for i, t in enumerate(texts)})
        start = time.perf_counter()
        scores = task.evaluate(encoder, split="test", encode_kwargs={"batch_size": 4096})
        seconds = time.perf_counter() - start
        main = float(np.mean([s["main_score"] for s in scores.values()]))
        rows.append((name, timing["type"], timing["seconds"], seconds, timing.get("mainScore"), main))
        print(f"  {name:40s} swift {timing['seconds']:8.3f} s   mteb {seconds:8.3f} s   x{seconds / max(timing['seconds'], 1e-9):8.1f}"
              f"   main swift {timing.get('mainScore')} mteb {main:.6f}", flush=True)
        del encoder, matrix, task
        gc.collect()

    if args.save_mteb and recorded is None:
        Path(args.save_mteb).write_text(json.dumps({
            "mteb": mteb.__version__, "dimension": args.dimension,
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load": os.getloadavg(),
            "tasks": {r[0]: {"seconds": r[3], "main": r[5]} for r in rows}}, indent=1, sort_keys=True))
        print(f"mteb timings written to {args.save_mteb}")
    swift_total = sum(r[2] for r in rows)
    mteb_total = sum(r[3] for r in rows)
    print(f"total: swift {swift_total:.2f} s, mteb {mteb_total:.2f} s, ratio x{mteb_total / max(swift_total, 1e-9):.1f}")
    ml = [r for r in rows if r[1] in ("Classification", "Clustering")]
    if ml and all(r[4] is None for r in ml):
        other_swift = sum(r[2] for r in rows if r not in ml)
        other_mteb = sum(r[3] for r in rows if r not in ml)
        print(f"NOTE: Swift Classification/Clustering are still stubs (score-ml branch); without them: "
              f"swift {other_swift:.2f} s, mteb {other_mteb:.2f} s, ratio x{other_mteb / max(other_swift, 1e-9):.1f}")
    if swift.get("sweep"):
        s = swift["sweep"]
        print(f"alpha sweep (Swift): {s['alphas']} alphas x {s['tasks']} tasks in {s['sweepSeconds']:.2f} s "
              f"on {s['workers']} workers (+ {s['prepareSeconds']:.2f} s standardising)")


if __name__ == "__main__":
    main()
