#!/usr/bin/env bash
# An MLflow tracking server for perturbo campaigns: sqlite backend, artifacts on local disk.
#   deploy/mlflow-server.sh                      # http://127.0.0.1:5000, data in ./mlflow-server
#   MLFLOW_HOST=0.0.0.0 MLFLOW_ALLOWED_HOSTS=mlflow.internal:5000 deploy/mlflow-server.sh
#       # reachable from a cluster; the server has no auth of its own: keep it on a private network
# Then: perturbo run ... --tracking-uri http://HOST:5000
set -euo pipefail
DATA="${MLFLOW_DATA:-$PWD/mlflow-server}"
HOST="${MLFLOW_HOST:-127.0.0.1}"     # loopback unless you say otherwise
PORT="${MLFLOW_PORT:-5000}"
mkdir -p "$DATA/artifacts"
# The job-execution API runs code on the server: keep it off.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec mlflow server \
  --backend-store-uri "sqlite:///$DATA/mlflow.db" \
  --artifacts-destination "$DATA/artifacts" \
  --serve-artifacts \
  --host "$HOST" --port "$PORT" \
  --workers "${MLFLOW_WORKERS:-2}" \
  ${MLFLOW_ALLOWED_HOSTS:+--allowed-hosts "$MLFLOW_ALLOWED_HOSTS"}
