#!/usr/bin/env bash
# Benchmarks (scripts/bench.sh [registry|updates|floor|training|mlflow|inference|agents|audit|analytics], default all): starts the local services, a fresh database, and one silo on its own ports, runs
# bench/PhantomMl.Bench against them, then removes the database and stops the services it started. Prints ratios
# measured in the same run.
# Knobs: PHANTOM_BENCH_WRITERS (64), PHANTOM_BENCH_SECONDS (10), PHANTOM_BENCH_TENANTS (100),
# PHANTOM_BENCH_MODELS_PER_TENANT (1000), PHANTOM_BENCH_SEARCHES (400), PHANTOM_BENCH_METRIC_POINTS (4000000: 1,000,000 per metric),
# PHANTOM_BENCH_AUDIT_ROWS (1000000), PHANTOM_BENCH_AUDIT_TENANTS (100), PHANTOM_BENCH_UPDATE_MODELS (1 or 64: only that run of `updates`).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

"$REPO_ROOT/scripts/setup.sh" all
# Services this run starts are stopped again at the end; ones already running are left as they were.
started=()
for part in postgres redis clickhouse; do
  "$REPO_ROOT/scripts/services.sh" status "$part" >/dev/null 2>&1 || started+=("$part")
done
# The connection strings exported below point at the benchmark's own database; without them the services are
# local ones again (only parts this run started are listed, never external ones).
stop_started() {
  ((${#started[@]})) || return 0
  env -u ConnectionStrings__PostgreSql -u ConnectionStrings__PostgreSqlMigrations -u ConnectionStrings__ClickHouse \
    "$REPO_ROOT/scripts/services.sh" stop "${started[@]}" || true
}
trap stop_started EXIT
"$REPO_ROOT/scripts/services.sh" start postgres redis clickhouse
# shellcheck disable=SC1090
source "$ENV_FILE"

database="phantom_bench"
owner_admin="${ConnectionStrings__PostgreSqlMigrations/Database=phantom/Database=postgres}"
psql_owner() { psql "$(libpq_conninfo "$1")" -qAt "${@:2}"; }
psql_owner "$owner_admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"

export ConnectionStrings__PostgreSql="${ConnectionStrings__PostgreSql/Database=phantom/Database=$database}"
export ConnectionStrings__PostgreSqlMigrations="${ConnectionStrings__PostgreSqlMigrations/Database=phantom/Database=$database}"
export ConnectionStrings__ClickHouse="${ConnectionStrings__ClickHouse/Database=phantom/Database=$database}"
export PHANTOM_BENCH_CLUSTER="bench"
export PHANTOM_REPO_ROOT="$REPO_ROOT"
export PHANTOM_BENCH_ADMIN_KEY_FILE="$PHANTOM_HOME/bench-admin.key"
export PHANTOM_BENCH_HTTP="http://127.0.0.1:5090"
export PHANTOM_BENCH_GATEWAY="127.0.0.1:30090" # the SDK finds the bench silo by this static gateway: no database login
rm -f "$PHANTOM_BENCH_ADMIN_KEY_FILE"

ASPNETCORE_ENVIRONMENT=Production "$REPO_ROOT/scripts/silo.sh" migrate >/dev/null
# The audit benchmark seals and times the chain itself: the silo's audit sweep waits a day instead of a minute.
ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "$REPO_ROOT/scripts/silo.sh" \
  --Phantom:Silo:ClusterId=bench --silo-port=11190 --gateway-port=30090 --http-port=5090 \
  --Phantom:Audit:SealInterval=1.00:00:00 "--Phantom:Analytics:ServiceMetrics=$([[ "${PHANTOM_BENCH_METRICS_OFF:-second}" == first ]] && echo false || echo true)" \
  "--Phantom:Bootstrap:AdminKeyFile=$PHANTOM_BENCH_ADMIN_KEY_FILE" "--Phantom:Artifacts:Root=$PHANTOM_HOME/bench-artifacts" \
  >"$LOG_DIR/bench-silo.log" 2>&1 &
silo_pid=$!
export PHANTOM_BENCH_FIRST_SILO_PID="$silo_pid" # silo.sh execs dotnet: benchmarks read the silo's CPU from /proc
# The analytics benchmark compares two silos of the same build and database, one with service metrics off: the second
# one (its own cluster), or the first when PHANTOM_BENCH_METRICS_OFF=first, so a difference between the two silos
# themselves can be told from the cost of collection.
second_pid=""
if [[ -z "${1:-}" || "$1" == analytics ]]; then
  second_metrics=false
  [[ "${PHANTOM_BENCH_METRICS_OFF:-second}" == first ]] && second_metrics=true
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "$REPO_ROOT/scripts/silo.sh" \
    --Phantom:Silo:ClusterId=bench-second --silo-port=11191 --gateway-port=30091 --http-port=5091 \
    --Phantom:Audit:SealInterval=1.00:00:00 "--Phantom:Analytics:ServiceMetrics=$second_metrics" \
    "--Phantom:Artifacts:Root=$PHANTOM_HOME/bench-artifacts" >"$LOG_DIR/bench-silo-second.log" 2>&1 &
  second_pid=$!
  export PHANTOM_BENCH_SECOND_GATEWAY="127.0.0.1:30091" PHANTOM_BENCH_SECOND_HAS_METRICS="$second_metrics"
  export PHANTOM_BENCH_SECOND_SILO_PID="$second_pid"
fi
cleanup() {
  for pid in "$silo_pid" $second_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  psql_owner "$owner_admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  stop_started
}
trap cleanup EXIT
wait_until_ready "$PHANTOM_BENCH_HTTP" 120 "$silo_pid" || fail "the benchmark silo did not start (log: $LOG_DIR/bench-silo.log)"
if [[ -n "$second_pid" ]]; then
  wait_until_ready "http://127.0.0.1:5091" 120 "$second_pid" || fail "the second benchmark silo did not start (log: $LOG_DIR/bench-silo-second.log)"
fi

dotnet "$REPO_ROOT/bench/PhantomMl.Bench/bin/Release/net10.0/PhantomMl.Bench.dll" "$@"
