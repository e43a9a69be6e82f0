#!/usr/bin/env bash
# The README's first command: installs what is missing, starts PostgreSQL, Redis and ClickHouse on
# 127.0.0.1, migrates, and runs one silo (HTTP API, web dashboard, Orleans Dashboard) in the foreground. Ctrl-C stops it all.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

"$REPO_ROOT/scripts/setup.sh" platform
"$REPO_ROOT/scripts/services.sh" start
# shellcheck disable=SC1090
source "$ENV_FILE"

stop_everything() {
  trap - INT TERM EXIT
  if [[ -n "${silo_pid:-}" ]] && kill -0 "$silo_pid" 2>/dev/null; then
    log "stopping the silo"
    kill -TERM "$silo_pid" 2>/dev/null || true
    wait "$silo_pid" 2>/dev/null || true
  fi
  "$REPO_ROOT/scripts/services.sh" stop
  log "stopped"
}
trap stop_everything INT TERM EXIT

export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# The first silo issues the platform-admin key into .phantom/admin.key when there is no valid one.
admin_key_file="$PHANTOM_HOME/admin.key"
"$REPO_ROOT/scripts/silo.sh" "--Phantom:Bootstrap:AdminKeyFile=$admin_key_file" "$@" &
silo_pid=$!

http_url="${PHANTOM_HTTP_URL:-http://127.0.0.1:5080}"
for arg in "$@"; do [[ "$arg" == --http-port=* ]] && http_url="http://127.0.0.1:${arg#--http-port=}"; done
if wait_until_ready "$http_url" 180 "$silo_pid"; then
  cat >&2 <<BANNER

  Phantom ML Core is running (Ctrl-C stops the silo and the local services)
    API            $http_url/api/v1
    API reference  $http_url/docs      (OpenAPI: $http_url/openapi/v1.json)
    Web dashboard  $http_url/ui        (sign in with an API key)
    Orleans        $http_url/dashboard (platform admins)
    Health         $http_url/health/ready
    Data           $PHANTOM_HOME
    Admin API key  $(cat "$admin_key_file" 2>/dev/null)   (kept in $admin_key_file)
                   try: curl -H "Authorization: Bearer \$(cat $admin_key_file)" $http_url/api/v1/me

BANNER
fi
wait "$silo_pid"
