#!/bin/bash
# Stage one as a Slurm job array: task i of N extracts shard i/N into its own store, then one job merges them.
#
#   sbatch --array=0-7 deploy/slurm-extract.sh manifests/paper-olmoe.json
#   # when all array tasks are done (or chain it with --dependency=afterok:<array job id>):
#   pipeline store merge out/paper-olmoe/cache.sqlite out/paper-olmoe/shards/cache-*.sqlite
#   pipeline score manifests/paper-olmoe.json
#
# Each shard writes its own SQLite file (SQLite wants one writer per file, and network file systems handle
# per-node files far better than one shared file). A killed or preempted task loses at most its batch in flight:
# `--requeue` reruns it and extract resumes where it stopped.
#SBATCH --job-name=moee-extract
#SBATCH --cpus-per-task=16
#SBATCH --mem=48G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=logs/moee-extract-%A_%a.log
set -euo pipefail

MANIFEST=${1:?usage: sbatch --array=0-N deploy/slurm-extract.sh MANIFEST}
SHARDS=${SLURM_ARRAY_TASK_COUNT:?run as a job array (--array=0-N)}
INDEX=${SLURM_ARRAY_TASK_ID:?run as a job array (--array=0-N)}

# A per-shard copy of the manifest whose "store" points at this shard's file; everything else is unchanged.
# (Relative paths in a manifest resolve against its folder, so the copy stays next to the original.)
DIR=$(dirname "$MANIFEST")
SHARD_MANIFEST="$DIR/.$(basename "$MANIFEST" .json).shard-$INDEX.json"
STORE_DIR=$(python3 -c 'import json,sys,os; m=json.load(open(sys.argv[1])); print(os.path.dirname(m["store"]))' "$MANIFEST")
python3 - "$MANIFEST" "$SHARD_MANIFEST" "$STORE_DIR/shards/cache-$INDEX.sqlite" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
manifest["store"] = sys.argv[3]
json.dump(manifest, open(sys.argv[2], "w"), indent=2)
PY

export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
exec .build/release/pipeline extract "$SHARD_MANIFEST" --shard "$INDEX/$SHARDS"
