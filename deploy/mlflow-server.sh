#!/usr/bin/env bash
# An MLflow tracking server for perturbo campaigns: a database backend (sqlite by default,
# PostgreSQL for a shared server), artifacts served by the server from a local directory.
#   deploy/mlflow-server.sh                      # http://127.0.0.1:5000, data in ./mlflow-server
#   MLFLOW_BACKEND_STORE_URI=postgresql+psycopg2://mlflow:PASSWORD@db:5432/mlflow \
#   MLFLOW_ARTIFACTS_DESTINATION=/srv/mlartifacts deploy/mlflow-server.sh
#   MLFLOW_HOST=0.0.0.0 MLFLOW_ALLOWED_HOSTS=mlflow.internal:5000 deploy/mlflow-server.sh
#       # reachable from a cluster; the server has no auth of its own: keep it on a private network
# Then: perturbo run ... --tracking-uri http://HOST:5000
# The test suite starts the server with this script, on PostgreSQL (tests/cluster/servers.py).
set -euo pipefail
DATA="${MLFLOW_DATA:-$PWD/mlflow-server}"
HOST="${MLFLOW_HOST:-127.0.0.1}"     # loopback unless you say otherwise
PORT="${MLFLOW_PORT:-5000}"
# The backend URI holds the database password: it goes to mlflow by the environment (which
# only this user can read), never on the command line (which `ps` shows to every user).
export MLFLOW_BACKEND_STORE_URI="${MLFLOW_BACKEND_STORE_URI:-sqlite:///$DATA/mlflow.db}"
ARTIFACTS="${MLFLOW_ARTIFACTS_DESTINATION:-$DATA/artifacts}"
mkdir -p "$DATA"
case "$ARTIFACTS" in *://*) ;; *) mkdir -p "$ARTIFACTS" ;; esac
# The job-execution API runs code on the server (and costs ~1 GiB more memory): keep it off.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec mlflow server \
  --artifacts-destination "$ARTIFACTS" \
  --serve-artifacts \
  --host "$HOST" --port "$PORT" \
  --workers "${MLFLOW_WORKERS:-2}" \
  ${MLFLOW_ALLOWED_HOSTS:+--allowed-hosts "$MLFLOW_ALLOWED_HOSTS"}
