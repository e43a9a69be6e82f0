-- Tables and queries that Orleans' ADO.NET providers (10.4.2) need: clustering (membership),
-- grain persistence and reminders. The NuGet packages do not ship their SQL; this is the project's
-- own migration, written against the column and parameter names the 10.4.2 providers use
-- (clustering with captured-value pruning and no metadata column; reminders without cron columns;
-- persistence writes the serializer's binary payload only; the xml/json columns stay for readers).

CREATE TABLE orleansquery
(
    querykey  varchar(64)   NOT NULL,
    querytext varchar(8000) NOT NULL,
    CONSTRAINT orleansquery_key PRIMARY KEY (querykey)
);

-- ---- Clustering ---------------------------------------------------------------------------

CREATE TABLE orleansmembershipversiontable
(
    deploymentid varchar(150)   NOT NULL,
    timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT pk_orleansmembershipversiontable_deploymentid PRIMARY KEY (deploymentid)
);

CREATE TABLE orleansmembershiptable
(
    deploymentid varchar(150)   NOT NULL,
    address      varchar(45)    NOT NULL,
    port         integer        NOT NULL,
    generation   integer        NOT NULL,
    siloname     varchar(150)   NOT NULL,
    hostname     varchar(150)   NOT NULL,
    status       integer        NOT NULL,
    proxyport    integer        NULL,
    suspecttimes varchar(8000)  NULL,
    starttime    timestamptz(3) NOT NULL,
    iamalivetime timestamptz(3) NOT NULL,
    CONSTRAINT pk_membershiptable_deploymentid PRIMARY KEY (deploymentid, address, port, generation),
    CONSTRAINT fk_membershiptable_membershipversiontable_deploymentid
        FOREIGN KEY (deploymentid) REFERENCES orleansmembershipversiontable (deploymentid)
);

-- I-am-alive never moves backwards, even when two writes of one silo arrive out of order.
CREATE FUNCTION orleans_update_i_am_alive_time(
    deployment_id_arg varchar, address_arg varchar, port_arg integer, generation_arg integer, i_am_alive_time_arg timestamptz)
RETURNS void LANGUAGE sql AS
$$
    UPDATE orleansmembershiptable
       SET iamalivetime = GREATEST(iamalivetime, i_am_alive_time_arg)
     WHERE deploymentid = deployment_id_arg AND address = address_arg
       AND port = port_arg AND generation = generation_arg;
$$;

CREATE FUNCTION orleans_insert_membership_version(deployment_id_arg varchar)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS
$$
DECLARE affected integer;
BEGIN
    INSERT INTO orleansmembershipversiontable (deploymentid) VALUES (deployment_id_arg)
    ON CONFLICT (deploymentid) DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    RETURN QUERY SELECT affected;
END
$$;

-- The version row is bumped first, guarded by the version the silo read: a concurrent writer makes
-- this return 0 (Orleans then re-reads and retries) and the membership row is left untouched.
CREATE FUNCTION orleans_insert_membership(
    deployment_id_arg varchar, address_arg varchar, port_arg integer, generation_arg integer,
    silo_name_arg varchar, host_name_arg varchar, status_arg integer, proxy_port_arg integer,
    start_time_arg timestamptz, i_am_alive_time_arg timestamptz, version_arg integer)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS
$$
DECLARE affected integer;
BEGIN
    UPDATE orleansmembershipversiontable
       SET timestamp = now(), version = version + 1
     WHERE deploymentid = deployment_id_arg AND version = version_arg AND version < 2147483647;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RETURN QUERY SELECT 0;
        RETURN;
    END IF;

    INSERT INTO orleansmembershiptable
        (deploymentid, address, port, generation, siloname, hostname, status, proxyport, starttime, iamalivetime)
    VALUES
        (deployment_id_arg, address_arg, port_arg, generation_arg, silo_name_arg, host_name_arg, status_arg,
         proxy_port_arg, start_time_arg, i_am_alive_time_arg)
    ON CONFLICT (deploymentid, address, port, generation) DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        -- Undo the version bump: the row already existed, so nothing was inserted.
        RAISE EXCEPTION 'membership row exists' USING ERRCODE = 'unique_violation';
    END IF;
    RETURN QUERY SELECT affected;
EXCEPTION WHEN unique_violation THEN
    RETURN QUERY SELECT 0;
END
$$;

CREATE FUNCTION orleans_update_membership(
    deployment_id_arg varchar, address_arg varchar, port_arg integer, generation_arg integer,
    status_arg integer, suspect_times_arg varchar, i_am_alive_time_arg timestamptz, version_arg integer)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS
$$
DECLARE affected integer;
BEGIN
    UPDATE orleansmembershipversiontable
       SET timestamp = now(), version = version + 1
     WHERE deploymentid = deployment_id_arg AND version = version_arg AND version < 2147483647;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RETURN QUERY SELECT 0;
        RETURN;
    END IF;

    UPDATE orleansmembershiptable
       SET status = status_arg, suspecttimes = suspect_times_arg,
           iamalivetime = GREATEST(iamalivetime, i_am_alive_time_arg)
     WHERE deploymentid = deployment_id_arg AND address = address_arg
       AND port = port_arg AND generation = generation_arg;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RAISE EXCEPTION 'membership row missing' USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY SELECT affected;
EXCEPTION WHEN no_data_found THEN
    RETURN QUERY SELECT 0;
END
$$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('UpdateIAmAlivetimeKey',
 'SELECT orleans_update_i_am_alive_time(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime);'),
('InsertMembershipVersionKey',
 'SELECT * FROM orleans_insert_membership_version(@DeploymentId);'),
('InsertMembershipKey',
 'SELECT * FROM orleans_insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);'),
('UpdateMembershipKey',
 'SELECT * FROM orleans_update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);'),
('MembershipReadRowKey',
 'SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
         m.suspecttimes, m.starttime, m.iamalivetime, v.version
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m
      ON v.deploymentid = m.deploymentid AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
   WHERE v.deploymentid = @DeploymentId;'),
('MembershipReadAllKey',
 'SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport,
         m.suspecttimes, m.starttime, m.iamalivetime, v.version
    FROM orleansmembershipversiontable v
    LEFT JOIN orleansmembershiptable m ON v.deploymentid = m.deploymentid
   WHERE v.deploymentid = @DeploymentId;'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM orleansmembershiptable WHERE deploymentid = @DeploymentId;
  DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId;'),
('GatewaysQueryKey',
 'SELECT address, proxyport, generation FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0;'),
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND iamalivetime < @IAmAliveTime AND starttime < @IAmAliveTime
     AND COALESCE(suspecttimes, '''') = '''' AND status = 6;'),
('CleanupDefunctSiloEntryKey',
 'DELETE FROM orleansmembershiptable
   WHERE deploymentid = @DeploymentId AND status = 6 AND address = @Address AND port = @Port
     AND generation = @Generation AND iamalivetime = @IAmAliveTime AND starttime = @StartTime
     AND COALESCE(suspecttimes, '''') = COALESCE(@SuspectTimes, '''');');

-- ---- Grain persistence ----------------------------------------------------------------------

CREATE TABLE orleansstorage
(
    grainidhash            integer      NOT NULL,
    grainidn0              bigint       NOT NULL,
    grainidn1              bigint       NOT NULL,
    graintypehash          integer      NOT NULL,
    graintypestring        varchar(512) NOT NULL,
    grainidextensionstring varchar(512),
    serviceid              varchar(150) NOT NULL,
    payloadbinary          bytea,
    payloadxml             xml,
    payloadjson            text,
    modifiedon             timestamp    NOT NULL,
    version                integer
);

-- One row per grain and service; it also serves every lookup, which leads with the two hashes.
CREATE UNIQUE INDEX ux_orleansstorage_grain
    ON orleansstorage (grainidhash, graintypehash, grainidn0, grainidn1, graintypestring,
                       COALESCE(grainidextensionstring, ''), serviceid);

-- Optimistic concurrency on the version column: a write whose version is stale changes nothing and
-- returns the old version, which Orleans reports as InconsistentStateException.
CREATE FUNCTION orleans_write_to_storage(
    _grainidhash integer, _grainidn0 bigint, _grainidn1 bigint, _graintypehash integer,
    _graintypestring varchar, _grainidextensionstring varchar, _serviceid varchar,
    _grainstateversion integer, _payloadbinary bytea)
RETURNS TABLE (newgrainstateversion integer) LANGUAGE plpgsql AS
$$
DECLARE
    new_version integer := _grainstateversion;
    affected integer := 0;
BEGIN
    IF _grainstateversion IS NOT NULL THEN
        UPDATE orleansstorage
           SET payloadbinary = _payloadbinary,
               modifiedon = (now() AT TIME ZONE 'utc'), version = version + 1
         WHERE grainidhash = _grainidhash AND graintypehash = _graintypehash
           AND grainidn0 = _grainidn0 AND grainidn1 = _grainidn1
           AND graintypestring = _graintypestring
           AND grainidextensionstring IS NOT DISTINCT FROM _grainidextensionstring
           AND serviceid = _serviceid
           AND version = _grainstateversion;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected > 0 THEN
            new_version := _grainstateversion + 1;
        END IF;
    ELSE
        -- First write of this grain: the unique index lets only one of two racing activations insert.
        INSERT INTO orleansstorage
            (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring,
             serviceid, payloadbinary, modifiedon, version)
        SELECT _grainidhash, _grainidn0, _grainidn1, _graintypehash, _graintypestring, _grainidextensionstring,
               _serviceid, _payloadbinary, (now() AT TIME ZONE 'utc'), 1
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected > 0 THEN
            new_version := 1;
        END IF;
    END IF;
    RETURN QUERY SELECT new_version;
END
$$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('WriteToStorageKey',
 'SELECT * FROM orleans_write_to_storage(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
      @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);'),
('ReadFromStorageKey',
 'SELECT payloadbinary, payloadxml, payloadjson, (now() AT TIME ZONE ''utc''), version
    FROM orleansstorage
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
     AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND graintypestring = @GrainTypeString
     AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
     AND serviceid = @ServiceId;'),
('ClearStorageKey',
 'UPDATE orleansstorage
     SET payloadbinary = NULL, payloadjson = NULL, payloadxml = NULL, version = version + 1
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
     AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND graintypestring = @GrainTypeString
     AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
     AND serviceid = @ServiceId AND version = @GrainStateVersion
  RETURNING version AS newgrainstateversion;'),
('DeleteStorageKey',
 'DELETE FROM orleansstorage
   WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
     AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
     AND graintypestring = @GrainTypeString
     AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
     AND serviceid = @ServiceId AND version = @GrainStateVersion;');

-- ---- Reminders --------------------------------------------------------------------------------

CREATE TABLE orleansreminderstable
(
    serviceid    varchar(150)   NOT NULL,
    grainid      varchar(150)   NOT NULL,
    remindername varchar(150)   NOT NULL,
    starttime    timestamptz(3) NOT NULL,
    period       bigint         NOT NULL,
    grainhash    integer        NOT NULL,
    version      integer        NOT NULL,
    CONSTRAINT pk_reminderstable_serviceid_grainid_remindername PRIMARY KEY (serviceid, grainid, remindername)
);

CREATE FUNCTION orleans_upsert_reminder_row(
    service_id_arg varchar, grain_id_arg varchar, reminder_name_arg varchar, start_time_arg timestamptz,
    period_arg bigint, grain_hash_arg integer)
RETURNS TABLE (version integer) LANGUAGE sql AS
$$
    INSERT INTO orleansreminderstable (serviceid, grainid, remindername, starttime, period, grainhash, version)
    VALUES (service_id_arg, grain_id_arg, reminder_name_arg, start_time_arg, period_arg, grain_hash_arg, 0)
    ON CONFLICT (serviceid, grainid, remindername) DO UPDATE
       SET starttime = excluded.starttime, period = excluded.period, grainhash = excluded.grainhash,
           version = orleansreminderstable.version + 1
    RETURNING orleansreminderstable.version;
$$;

CREATE FUNCTION orleans_delete_reminder_row(
    service_id_arg varchar, grain_id_arg varchar, reminder_name_arg varchar, version_arg integer)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS
$$
DECLARE affected integer;
BEGIN
    DELETE FROM orleansreminderstable
     WHERE serviceid = service_id_arg AND grainid = grain_id_arg
       AND remindername = reminder_name_arg AND version = version_arg;
    GET DIAGNOSTICS affected = ROW_COUNT;
    RETURN QUERY SELECT affected;
END
$$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('UpsertReminderRowKey',
 'SELECT * FROM orleans_upsert_reminder_row(@ServiceId, @GrainId, @ReminderName, @StartTime, @Period::bigint, @GrainHash);'),
('ReadReminderRowsKey',
 'SELECT grainid, remindername, starttime, period, version FROM orleansreminderstable
   WHERE serviceid = @ServiceId AND grainid = @GrainId;'),
('ReadReminderRowKey',
 'SELECT grainid, remindername, starttime, period, version FROM orleansreminderstable
   WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName;'),
('ReadRangeRows1Key',
 'SELECT grainid, remindername, starttime, period, version FROM orleansreminderstable
   WHERE serviceid = @ServiceId AND grainhash > @BeginHash AND grainhash <= @EndHash;'),
('ReadRangeRows2Key',
 'SELECT grainid, remindername, starttime, period, version FROM orleansreminderstable
   WHERE serviceid = @ServiceId AND (grainhash > @BeginHash OR grainhash <= @EndHash);'),
('DeleteReminderRowKey',
 'SELECT * FROM orleans_delete_reminder_row(@ServiceId, @GrainId, @ReminderName, @Version);'),
('DeleteReminderRowsKey',
 'DELETE FROM orleansreminderstable WHERE serviceid = @ServiceId;');
