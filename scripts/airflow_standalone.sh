#!/usr/bin/env bash
# Airflow standalone (scheduler, DAG processor, triggerer, API server and UI) with ITW Radar's
# nightly DAG on the demo exports, using the same local Airflow as `itw-radar run`
# (<home>/airflow). Prints the UI address and the login, then runs until Ctrl-C.
#
#   scripts/airflow_standalone.sh           start and keep running
#   scripts/airflow_standalone.sh --check   start, check the UI answers and the DAG is loaded, stop
#
# Environment: ITW_RADAR_HOME (default ./var), ITW_RADAR_EXPORTS (default <home>/demo-exports,
# generated when empty), DEMO_START (2026-11-01), DEMO_DAYS (21), AIRFLOW_PORT (8080).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "no .venv: run ./dev setup first" >&2; exit 1; }

CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
export ITW_RADAR_HOME="${ITW_RADAR_HOME:-$ROOT/var}"
EXPORTS="${ITW_RADAR_EXPORTS:-$ITW_RADAR_HOME/demo-exports}"
START="${DEMO_START:-2026-11-01}"
DAYS="${DEMO_DAYS:-21}"
PORT="${AIRFLOW_PORT:-8080}"
END="$("$PY" -c "import datetime as d; print(d.date.fromisoformat('$START') + d.timedelta(days=$DAYS - 1))")"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -f "$EXPORTS/$END/manifest.json" ]; then
  say "generating $DAYS demo nights into $EXPORTS"
  "$PY" -c "
import datetime as d, pathlib
from itw_radar.generator import generate
generate(pathlib.Path('$EXPORTS'), d.date.fromisoformat('$START'), $DAYS)"
fi

# The same settings `itw-radar run` uses (Airflow home, sqlite metadata database, DAG folder).
eval "$("$PY" -m itw_radar.orchestration env --home "$ITW_RADAR_HOME" --exports "$EXPORTS")"
export ITW_RADAR_START_DATE="$START" ITW_RADAR_END_DATE="$END"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$PORT/execution/"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
unset ITW_RADAR_DAG_TEST ITW_RADAR_RETRIES ITW_RADAR_RETRY_DELAY  # those are for itw-radar run
# Each dbt model task is a short worker process: a few at a time keep a laptop responsive.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p "$AIRFLOW_HOME" "$ITW_RADAR_HOME/logs"

say "dbt manifest for the DAG"
"$PY" -m itw_radar.orchestration manifest >/dev/null
say "Airflow metadata database in $AIRFLOW_HOME"
airflow db migrate >/dev/null 2>&1 || airflow db migrate
airflow pools set itw_radar_warehouse 1 "DuckDB warehouse: one writing task at a time" >/dev/null
airflow pools set itw_radar_dbt_watchers 2 "dbt model tasks watching the one dbt build" >/dev/null

LOG="$ITW_RADAR_HOME/logs/airflow-standalone.log"
say "starting airflow standalone (log: $LOG)"
setsid airflow standalone >"$LOG" 2>&1 &
PID=$!
stop() { kill -TERM -- "-$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap stop EXIT INT TERM

URL="http://localhost:$PORT"
for _ in $(seq 1 180); do
  if curl -fsS "$URL/api/v2/monitor/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "airflow standalone exited; the last lines of $LOG:" >&2; tail -20 "$LOG" >&2; exit 1
  fi
  sleep 1
done
curl -fsS "$URL/api/v2/monitor/health" >/dev/null || { echo "the UI did not answer on $URL" >&2; exit 1; }

PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
for _ in $(seq 1 30); do [ -s "$PASSWORDS" ] && break; sleep 1; done
LOGIN="$("$PY" -c "import json; d = json.load(open('$PASSWORDS')); u = next(iter(d)); print(u, d[u])")"
USER_NAME="${LOGIN%% *}"
PASSWORD="${LOGIN#* }"

echo
echo "  Airflow UI:   $URL"
echo "  login:        $USER_NAME / $PASSWORD"
echo "  DAG:          itw_radar_nightly (nights $START .. $END from $EXPORTS)"
echo "  to run:       unpause it to process every demo night in date order (catchup), or"
echo "                Trigger DAG and pick a night's date as the logical date"
echo "  serving DB:   $ITW_RADAR_HOME/serving/radar.duckdb"
echo

if [ "$CHECK" = 1 ]; then
  TOKEN="$(curl -fsS -X POST "$URL/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$USER_NAME\", \"password\": \"$PASSWORD\"}" |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
  for _ in $(seq 1 120); do
    if curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/api/v2/dags/itw_radar_nightly" \
        >/dev/null 2>&1; then
      say "check passed: the UI answers and itw_radar_nightly is loaded"
      exit 0
    fi
    sleep 1
  done
  echo "itw_radar_nightly did not appear in the API; see $LOG" >&2
  exit 1
fi
say "running; Ctrl-C stops every Airflow component"
wait "$PID"
