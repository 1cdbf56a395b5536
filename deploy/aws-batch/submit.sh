#!/bin/sh
# Register the job definition, submit the 8 shards as an array job, then the merge, which
# AWS Batch starts once every child of the array has succeeded.
#   RUN_KEY=2026-12-05 sh submit.sh     (RUN_KEY overrides the one in the JSON files)
set -eu
cd "$(dirname "$0")"
run_key=${RUN_KEY:-2026-12-04}
environment="[{\"name\": \"RUN_KEY\", \"value\": \"$run_key\"}]"
aws batch register-job-definition --cli-input-json file://job-definition.json >/dev/null
shards=$(aws batch submit-job --cli-input-json file://submit-shards.json \
    --container-overrides "{\"environment\": $environment}" --query jobId --output text)
echo "shards: $shards (run $run_key)"
aws batch submit-job --cli-input-json file://submit-merge.json \
    --container-overrides \
    "{\"command\": [\"merge-shards.sh\", \"/jobs/prices.yaml\"], \"environment\": $environment}" \
    --depends-on "jobId=$shards" --query jobId --output text
