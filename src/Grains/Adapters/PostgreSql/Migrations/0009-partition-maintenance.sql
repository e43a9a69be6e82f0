-- Functions the partition maintenance job calls to keep time partitions ahead and to retire expired
-- ones (design correction D4). They work on any range-partitioned table with a DEFAULT partition.

-- Creates partition_name for [from_ts, to_ts) unless it exists. Rows of that range that already sit
-- in the DEFAULT partition are moved into the new partition first, because PostgreSQL refuses to
-- attach a range that the DEFAULT partition holds rows of. Returns true when it created the partition.
CREATE FUNCTION phantom_ensure_range_partition(parent regclass, partition_name text, from_ts timestamptz, to_ts timestamptz)
RETURNS boolean LANGUAGE plpgsql AS
$$
DECLARE
    parent_schema text;
    default_partition regclass;
    key_column text;
    has_rows boolean := false;
BEGIN
    SELECT n.nspname INTO parent_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;

    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = parent_schema AND c.relname = partition_name) THEN
        RETURN false;
    END IF;

    SELECT a.attname INTO STRICT key_column
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;

    SELECT c.oid::regclass INTO default_partition
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    IF default_partition IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)', default_partition, key_column, key_column)
           INTO has_rows USING from_ts, to_ts;
    END IF;

    IF NOT has_rows THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       parent_schema, partition_name, parent, from_ts, to_ts);
        RETURN true;
    END IF;

    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', parent_schema, partition_name, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I.%I SELECT * FROM moved',
                   default_partition, key_column, key_column, parent_schema, partition_name)
       USING from_ts, to_ts;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, parent_schema, partition_name, from_ts, to_ts);
    RETURN true;
END
$$;

-- Detaches and drops every non-DEFAULT partition of parent whose whole range ends at or before cutoff.
-- Returns the names it dropped.
CREATE FUNCTION phantom_drop_range_partitions_before(parent regclass, cutoff timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS
$$
DECLARE
    partition record;
BEGIN
    FOR partition IN
        SELECT c.oid::regclass AS rel, c.relname AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS upper_bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    LOOP
        IF partition.upper_bound <= cutoff THEN
            EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, partition.rel);
            EXECUTE format('DROP TABLE %s', partition.rel);
            RETURN NEXT partition.name;
        END IF;
    END LOOP;
END
$$;
