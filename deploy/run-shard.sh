#!/bin/sh
# One shard of a batch, as an array-job task (Cloud Run, AWS Batch, SLURM; Kubernetes does
# the same in its manifest). Every shard keeps its state and results in its own directory
# on shared storage, so a retried or replaced task (another machine, even) resumes its shard
# from its state file instead of paying again for runs it already made.
#
#   run-shard.sh SPEC [more `batchrun apply` options]
#
#   SHARD_ROOT   shared storage that outlives the task (NFS, EFS, Filestore, a cluster FS)
#   SHARDS       the number of shards: must equal the array's size
#   RUN_KEY      the batch run key, the same for every shard (and for the merge)
#   SHARD_INDEX  this shard; default: the launcher's 0-based array index. Set it to rerun
#                one shard alone (deploy/README.md, "Resuming one shard").
set -eu
spec=$1
shift
: "${SHARD_ROOT:?}" "${SHARDS:?}" "${RUN_KEY:?}"
# SLURM arrays must be numbered from 0 (--array=0-7) for SLURM_ARRAY_TASK_ID to be the index.
index=${SHARD_INDEX:-${CLOUD_RUN_TASK_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-${SLURM_ARRAY_TASK_ID:-}}}}
if [ -z "$index" ]; then
    echo "run-shard.sh: no array index: set SHARD_INDEX, or run as an array task" >&2
    exit 2
fi
dir="$SHARD_ROOT/shard-$index"
mkdir -p "$dir"
cd "$dir"
# The index is passed explicitly so that the directory and the shard can never disagree.
set +e
batchrun apply "$spec" --shards "$SHARDS" --shard-index "$index" --run "$RUN_KEY" \
    --state "$dir/state.db" --results "$dir/results" --log-format plain --no-report "$@"
rc=$?
set -e
# 1: some tasks failed after their retries. The shard has finished and its results say
# which; retrying the task would change nothing, and a "failed" array task would keep the
# merge from running. Every other code (3 API down, 6 disk, 130 stopped, ...) is retried.
if [ "$rc" -eq 1 ]; then
    exit 0
fi
exit "$rc"
