#!/usr/bin/env bash
# Local PostgreSQL 15, Redis 7 and ClickHouse (chDB sidecar) on 127.0.0.1, data under .phantom/.
#   scripts/services.sh start|stop|status [postgres|redis|clickhouse|s3]...
# s3 (moto, an in-memory S3 server for the S3 artifact store's tests) is started only when named.
# A part whose connection string is already configured (ConnectionStrings__PostgreSql, __Redis,
# __ClickHouse) is external: it is never started, stopped or written into .phantom/env.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# ---- PostgreSQL -------------------------------------------------------------------------------
# initdb and postgres refuse to run as root, so the private cluster belongs to the 'postgres' user
# that Debian's package creates. That user must reach the data folder; when the checkout sits under
# a folder it cannot enter (e.g. /root), the data goes to /var/lib/phantom and .phantom links to it.
pg_root() {
  local root="$PHANTOM_HOME/postgres"
  if [[ ! -e "$root" ]]; then
    mkdir -p "$root" && chown postgres:postgres "$root"
    if ! runuser -u postgres -- test -w "$root"; then
      rmdir "$root"
      local elsewhere
      elsewhere="/var/lib/phantom/$(printf '%s' "$PHANTOM_HOME" | sha1sum | cut -c1-12)/postgres"
      mkdir -p "$elsewhere" && chown postgres:postgres "$elsewhere"
      ln -s "$elsewhere" "$root"
    fi
  fi
  # The resolved path: the postgres user may not be allowed to pass through the link's folder.
  readlink -f "$root"
}

# From /, since the postgres user may not enter the current folder.
pg_as_postgres() { (cd / && runuser -u postgres -- "$@"); }
pg_psql() { pg_as_postgres "$PG_BIN/psql" -h "$(pg_root)/socket" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
pg_running() { pg_as_postgres "$PG_BIN/pg_ctl" -D "$(pg_root)/data" status >/dev/null 2>&1; }

postgres_start() {
  local root; root="$(pg_root)"
  if [[ ! -s "$root/data/PG_VERSION" ]]; then
    log "postgres: creating a private cluster in $root/data"
    local pwfile="$root/initdb.pw"
    secret postgres-superuser.password > "$pwfile"
    chown postgres:postgres "$pwfile"; chmod 600 "$pwfile"
    pg_as_postgres "$PG_BIN/initdb" -D "$root/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" >"$LOG_DIR/initdb.log"
    rm -f "$pwfile"
  fi
  install -d -o postgres -g postgres -m 700 "$root/socket"
  if ! pg_running; then
    log "postgres: starting on 127.0.0.1:$PG_PORT"
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$root/data" -l "$root/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $root/socket -c max_connections=400" start >/dev/null || {
      tail -n 5 "$root/postgres.log" >&2
      fail "postgres: could not start on 127.0.0.1:$PG_PORT (another server on that port? set PHANTOM_PG_PORT)"
    }
  fi
  wait_until 60 "postgres" "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  postgres_provision
}

# Four roles (docs/security.md): phantom_owner owns the schema and runs migrations;
# phantom_app is what the platform connects as, owning nothing, bound by row-level security;
# phantom_security owns the few cross-tenant lookup functions and cannot log in;
# phantom_membership is what SDK clients may log in as: it reads where the gateways are, nothing else
# (its privileges come from migration 0015).
postgres_provision() {
  local owner_password app_password membership_password
  owner_password="$(secret postgres-owner.password)"
  app_password="$(secret postgres-app.password)"
  membership_password="$(secret postgres-membership.password)"
  pg_psql -d postgres <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phantom_owner') THEN
    CREATE ROLE phantom_owner LOGIN CREATEDB;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phantom_app') THEN
    CREATE ROLE phantom_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phantom_security') THEN
    CREATE ROLE phantom_security NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'phantom_membership') THEN
    CREATE ROLE phantom_membership NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END \$\$;
ALTER ROLE phantom_owner PASSWORD '$owner_password';
ALTER ROLE phantom_app PASSWORD '$app_password';
ALTER ROLE phantom_membership LOGIN PASSWORD '$membership_password';
GRANT phantom_security TO phantom_owner;
SELECT 'CREATE DATABASE phantom OWNER phantom_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'phantom')
\gexec
SQL
}

postgres_stop() {
  pg_running || return 0
  log "postgres: stopping"
  pg_as_postgres "$PG_BIN/pg_ctl" -D "$(pg_root)/data" -m fast -w stop >/dev/null
}

postgres_status() { pg_running && "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" >/dev/null; }

postgres_connection_string() {
  printf 'Host=127.0.0.1;Port=%s;Database=phantom;Username=phantom_app;Password=%s' "$PG_PORT" "$(secret postgres-app.password)"
}

postgres_membership_connection_string() {
  printf 'Host=127.0.0.1;Port=%s;Database=phantom;Username=phantom_membership;Password=%s' "$PG_PORT" "$(secret postgres-membership.password)"
}

postgres_migrations_connection_string() {
  printf 'Host=127.0.0.1;Port=%s;Database=phantom;Username=phantom_owner;Password=%s' "$PG_PORT" "$(secret postgres-owner.password)"
}

# ---- Redis ------------------------------------------------------------------------------------
redis_status() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_start() {
  redis_status && return 0
  log "redis: starting on 127.0.0.1:$REDIS_PORT"
  mkdir -p "$PHANTOM_HOME/redis"
  # Redis is a cache here (PostgreSQL is the system of record), so it keeps nothing on disk.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$PHANTOM_HOME/redis" --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
  wait_until 30 "redis" redis_status
}

redis_stop() {
  redis_status || return 0
  log "redis: stopping"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait_until 30 "redis shutdown" bash -c "! redis-cli -h 127.0.0.1 -p $REDIS_PORT ping"
}

redis_connection_string() { printf '127.0.0.1:%s' "$REDIS_PORT"; }

# stop_by_pidfile NAME SECONDS: SIGTERM to the process in .phantom/run/NAME.pid, SIGKILL after SECONDS.
stop_by_pidfile() {
  local pidfile="$RUN_DIR/$1.pid"
  [[ -s "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "$1: stopping"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# ---- ClickHouse (chDB sidecar) -----------------------------------------------------------------
clickhouse_status() { curl -sf "http://127.0.0.1:$CLICKHOUSE_PORT/ping" >/dev/null 2>&1; }

clickhouse_start() {
  clickhouse_status && return 0
  [[ -s "$TOOLS_DIR/chdb/libchdb.so" && -s "$SIDECAR_DLL" ]] || fail "clickhouse: run scripts/setup.sh first"
  log "clickhouse: starting chDB sidecar on 127.0.0.1:$CLICKHOUSE_PORT"
  mkdir -p "$PHANTOM_HOME/clickhouse"
  # Its own session: a Ctrl-C meant for a foreground script must not reach the server.
  setsid nohup dotnet "$SIDECAR_DLL" --lib "$TOOLS_DIR/chdb/libchdb.so" --data "$PHANTOM_HOME/clickhouse" \
    --port "$CLICKHOUSE_PORT" >"$LOG_DIR/clickhouse.log" 2>&1 &
  echo $! >"$RUN_DIR/clickhouse.pid"
  wait_until 60 "clickhouse" clickhouse_status
}

clickhouse_stop() { stop_by_pidfile clickhouse 20; }

clickhouse_connection_string() { printf 'Host=127.0.0.1;Port=%s;Protocol=http;Database=phantom;Username=default' "$CLICKHOUSE_PORT"; }

# ---- S3 (moto, for tests of the S3 artifact store) ---------------------------------------------
S3_PORT="${PHANTOM_S3_PORT:-59000}"

s3_status() { curl -sf -o /dev/null "http://127.0.0.1:$S3_PORT/"; }

s3_start() {
  s3_status && return 0
  [[ -f "$TOOLS_DIR/moto/.complete" ]] || fail "s3: run scripts/setup.sh first"
  log "s3: starting moto on 127.0.0.1:$S3_PORT (in memory)"
  # /usr/bin/python3 with -S: Debian's interpreter, without site packages that could shadow the unpacked ones.
  PYTHONPATH="$TOOLS_DIR/moto/usr/lib/python3/dist-packages" setsid nohup /usr/bin/python3 -S -m moto.server -H 127.0.0.1 -p "$S3_PORT" \
    >"$LOG_DIR/s3.log" 2>&1 &
  echo $! >"$RUN_DIR/s3.pid"
  wait_until 60 "s3" s3_status
}

s3_stop() { stop_by_pidfile s3 10; }

s3_connection_string() { printf 'Endpoint=http://127.0.0.1:%s;AccessKey=phantom;SecretKey=phantom-secret;Bucket=phantom-artifacts' "$S3_PORT"; }

# ---- Commands ---------------------------------------------------------------------------------
# A part is external when its connection string is set to anything but the local one that
# .phantom/env holds (scripts source that file, so the local value must not count as external).
is_external() {
  local configured
  case "$1" in
    postgres) configured="${ConnectionStrings__PostgreSql:-}" ;;
    redis) configured="${ConnectionStrings__Redis:-}" ;;
    clickhouse) configured="${ConnectionStrings__ClickHouse:-}" ;;
    s3) configured="${ConnectionStrings__S3:-}" ;;
  esac
  [[ -n "$configured" && "$configured" != "$("${1}_connection_string")" ]]
}

# The key that signs audit digests (ECDSA P-256), made once per local deployment and kept with its data. An operator
# who configures Phantom__Audit__SigningKeys__0__Id brings their own keys.
audit_signing_key() {
  local key="$PHANTOM_HOME/audit-signing/local-1.pem"
  if [[ ! -s "$key" ]]; then
    command -v openssl >/dev/null || fail "openssl is needed to make the audit signing key (apt-get install openssl)"
    mkdir -p "$(dirname "$key")"
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key.tmp" && mv "$key.tmp" "$key") \
      || fail "could not make the audit signing key"
  fi
  printf '%s' "$key"
}

write_env_file() {
  local signing_key=""
  [[ -n "${Phantom__Audit__SigningKeys__0__Id:-}" && "${Phantom__Audit__SigningKeys__0__Id}" != "local-1" ]] || signing_key="$(audit_signing_key)"
  {
    echo "# Written by scripts/services.sh: connection strings of the local services."
    if ! is_external postgres; then
      echo "export ConnectionStrings__PostgreSql='$(postgres_connection_string)'"
      echo "export ConnectionStrings__PostgreSqlMigrations='$(postgres_migrations_connection_string)'"
      echo "export ConnectionStrings__PostgreSqlMembership='$(postgres_membership_connection_string)'"
    fi
    is_external redis || echo "export ConnectionStrings__Redis='$(redis_connection_string)'"
    is_external clickhouse || echo "export ConnectionStrings__ClickHouse='$(clickhouse_connection_string)'"
    if ! is_external s3 && s3_status; then
      echo "export ConnectionStrings__S3='$(s3_connection_string)'"
    fi
    if [[ -n "$signing_key" ]]; then
      echo "export Phantom__Audit__SigningKeys__0__Id='local-1'"
      echo "export Phantom__Audit__SigningKeys__0__PrivateKeyFile='$signing_key'"
    fi
  } >"$ENV_FILE"
  chmod 600 "$ENV_FILE"
}

command="${1:-status}"; shift || true
parts=("$@"); ((${#parts[@]})) || parts=(postgres redis clickhouse)
for part in "${parts[@]}"; do
  case "$part" in postgres|redis|clickhouse|s3) ;; *) fail "unknown service '$part' (postgres, redis, clickhouse, s3)";; esac
done

case "$command" in
  start)
    for part in "${parts[@]}"; do
      if is_external "$part"; then log "$part: external (configured), not started"; else "${part}_start"; fi
    done
    write_env_file ;;
  stop)
    for part in "${parts[@]}"; do is_external "$part" || "${part}_stop"; done ;;
  status)
    code=0
    for part in "${parts[@]}"; do
      if is_external "$part"; then echo "$part: external"
      elif "${part}_status"; then echo "$part: running"
      else echo "$part: stopped"; code=3; fi
    done
    exit $code ;;
  *) fail "usage: scripts/services.sh start|stop|status [postgres|redis|clickhouse|s3]..." ;;
esac
