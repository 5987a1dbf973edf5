#!/usr/bin/env bash
# Airflow for the voucher pipeline, in its own virtualenv (.venv-airflow): it
# pins hundreds of libraries that must not meet the product's (.venv).
#
#   orchestration/airflow/airflow.sh setup          create .venv-airflow, pinned
#   orchestration/airflow/airflow.sh freeze         re-resolve, rewrite constraints.txt
#   orchestration/airflow/airflow.sh run CMD ...    CMD from .venv-airflow with the
#                                                   settings below (airflow, pytest)
#
# Settings: AIRFLOW_HOME (default build/airflow-home; SQLite metadata database
# inside it, Airflow's default), the DAG folder of this repository, no example
# DAGs, and no calls home from cosmos or dbt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-airflow"
PYTHON="${PYTHON:-python3.11}"

fresh_venv() {
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
}

case "${1:-}" in
setup)
    fresh_venv
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
    ;;
freeze)
    fresh_venv
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
    {
        echo "# Frozen by \`orchestration/airflow/airflow.sh freeze\` (pip freeze of"
        echo "# .venv-airflow after installing requirements.txt on Python 3.11)."
        "$VENV/bin/pip" freeze
    } >"$HERE/constraints.txt"
    ;;
run)
    shift
    [ -x "$VENV/bin/airflow" ] || { echo "no $VENV: run \`make airflow\` first" >&2; exit 2; }
    export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/build/airflow-home}"
    export AIRFLOW__CORE__DAGS_FOLDER="$HERE/dags"
    export AIRFLOW__CORE__LOAD_EXAMPLES=False
    export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
    export DO_NOT_TRACK=1 SCARF_NO_ANALYTICS=true
    export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_VERSION_CHECK=false
    export PATH="$VENV/bin:$PATH"
    cd "$ROOT"
    exec "$@"
    ;;
*)
    echo "usage: $0 setup | freeze | run COMMAND [ARGS...]" >&2
    exit 2
    ;;
esac
