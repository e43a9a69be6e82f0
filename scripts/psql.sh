#!/usr/bin/env bash
# psql on the platform's database as the schema owner, e.g. scripts/psql.sh -c '\d+ models'.
# Row-level security binds the owner too: rows of a tenant show after
#   SELECT set_config('app.current_tenant_id', '<tenant uuid>', false);
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ -f "$ENV_FILE" ]] || fail "no local services yet: run scripts/run.sh or scripts/services.sh start"
# shellcheck disable=SC1090
source "$ENV_FILE"
exec psql "$(libpq_conninfo "${ConnectionStrings__PostgreSqlMigrations:-$ConnectionStrings__PostgreSql}")" "$@"
