#!/bin/bash
# Stage one as a Slurm job array: array task i of N extracts shard i/N into its own store, then one job merges.
#
#   sbatch --array=0-7 deploy/slurm-extract.sh manifests/paper-olmoe.json out/paper-olmoe/shards
#   # when every array task is done (or submit it with --dependency=afterok:<array job id>):
#   .build/release/pipeline store merge out/paper-olmoe/cache.sqlite out/paper-olmoe/shards/cache-*.sqlite
#   .build/release/pipeline score manifests/paper-olmoe.json
#
# Each shard writes its own SQLite file (SQLite wants one writer per file, and shared file systems handle
# per-node files far better than one shared file). A killed or preempted task loses at most its batch in flight:
# with --requeue Slurm reruns it, and extract resumes from that shard's store.
#SBATCH --job-name=moee-extract
#SBATCH --cpus-per-task=16
#SBATCH --mem=48G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=moee-extract-%A_%a.log
set -euo pipefail

MANIFEST=${1:?usage: sbatch --array=0-N deploy/slurm-extract.sh MANIFEST SHARD_DIR}
SHARD_DIR=${2:?usage: sbatch --array=0-N deploy/slurm-extract.sh MANIFEST SHARD_DIR}
SHARDS=${SLURM_ARRAY_TASK_COUNT:?run as a job array (--array=0-N)}
INDEX=${SLURM_ARRAY_TASK_ID:?run as a job array (--array=0-N)}

mkdir -p "$SHARD_DIR"
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
exec .build/release/pipeline extract "$MANIFEST" --shard "$INDEX/$SHARDS" --store "$SHARD_DIR/cache-$INDEX.sqlite"
