-- Calls between the platform's own components (the built-in trainer registering what it trained, the training
-- watchdog recovering jobs) carry the cluster's internal secret instead of an API key. The secret is generated
-- here from PostgreSQL's strong random source and read by every silo; whoever can read this table holds the
-- application role's credentials and could reach every tenant's rows anyway. SDK clients need only the
-- membership table: migration 0015 gives them phantom_membership, which holds no grant of this table.
CREATE TABLE cluster_secrets
(
    name       varchar(64) NOT NULL PRIMARY KEY,
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO cluster_secrets (name, secret)
VALUES ('internal-calls', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
GRANT SELECT ON cluster_secrets TO phantom_app;

-- Jobs the watchdog must look at, across tenants: running ones whose runner stopped reporting (no heartbeat,
-- progress, metrics or status since p_silent_since), and built-in ones scheduled that long ago without starting
-- (their start was lost with a silo). It only learns which jobs to look at, and handles each inside its tenant.
CREATE FUNCTION phantom_stale_training_jobs(p_silent_since timestamptz, p_limit integer)
RETURNS TABLE (tenant_key varchar, job_id uuid, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    SELECT t.tenant_key, j.id, j.status::text
      FROM training_jobs j JOIN tenants t ON t.id = j.tenant_id
     WHERE j.updated_at < p_silent_since
       AND (j.status = 'running' OR (j.status = 'scheduled' AND j.config ->> 'trainer' = 'builtin'))
     ORDER BY j.updated_at
     LIMIT least(greatest(p_limit, 1), 1000)
$$;

CREATE POLICY security_watchdog ON training_jobs FOR SELECT TO phantom_security USING (status IN ('running', 'scheduled'));
GRANT SELECT ON training_jobs TO phantom_security;
-- The tenant policy on training_jobs calls this; evaluating it must not fail for phantom_security (it yields no tenant).
GRANT EXECUTE ON FUNCTION phantom_current_tenant() TO phantom_security;
GRANT USAGE, CREATE ON SCHEMA public TO phantom_security;
ALTER FUNCTION phantom_stale_training_jobs(timestamptz, integer) OWNER TO phantom_security;
REVOKE CREATE ON SCHEMA public FROM phantom_security;
REVOKE ALL ON FUNCTION phantom_stale_training_jobs(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_stale_training_jobs(timestamptz, integer) TO phantom_app;
