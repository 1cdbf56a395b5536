#!/bin/sh
# The merge step after every shard of run-shard.sh has finished: one results directory,
# $SHARD_ROOT/merged/<spec name>/$RUN_KEY/, as if a single process had run the batch.
#
#   merge-shards.sh SPEC [--partial] [more `batchrun merge` options]
set -eu
spec=$1
shift
: "${SHARD_ROOT:?}" "${RUN_KEY:?}"
# Each shard's own results: <its directory>/results/shard-I-of-N/<spec name>/<run key>/.
exec batchrun merge "$spec" --run "$RUN_KEY" --results "$SHARD_ROOT/merged" "$@" \
    "$SHARD_ROOT"/shard-*/results/shard-*/*/"$RUN_KEY"
