-- Platform analytics rank tenants by what ClickHouse recorded, which knows tenants only by id; a platform admin's view
-- names them. Like phantom_list_tenants, this reads across tenants, so it runs as phantom_security and returns only
-- the key and the name.
CREATE FUNCTION phantom_tenant_names(p_ids uuid[])
RETURNS TABLE (id uuid, tenant_key varchar, name varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    SELECT t.id, t.tenant_key, t.name FROM tenants t
     WHERE t.id = ANY (p_ids[1:1000]) AND t.id <> '00000000-0000-0000-0000-000000000000'
$$;

-- Transferring ownership needs CREATE on the schema for the new owner, only for that moment (as in 0013).
GRANT USAGE, CREATE ON SCHEMA public TO phantom_security;
ALTER FUNCTION phantom_tenant_names(uuid[]) OWNER TO phantom_security;
REVOKE CREATE ON SCHEMA public FROM phantom_security;
REVOKE ALL ON FUNCTION phantom_tenant_names(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_tenant_names(uuid[]) TO phantom_app;
