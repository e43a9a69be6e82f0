using Npgsql;

namespace PhantomMl.Grains.Maintenance;

/// <summary>
/// The SQL of partition maintenance: the functions of migration 0009, which create, fill and drop the partitions of the
/// time-partitioned tables across every tenant (security definer, so they run outside any tenant's unit of work).
/// </summary>
public sealed class MaintenanceSql(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Creates partition <paramref name="partition"/> of <paramref name="parent"/> for [from, to) unless it exists;
    /// whether it was created.
    /// </summary>
    public async Task<bool> EnsureRangePartitionAsync(string parent, string partition, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT phantom_ensure_range_partition(@parent::regclass, @partition, @from, @to)");
        command.Parameters.AddWithValue("parent", parent);
        command.Parameters.AddWithValue("partition", partition);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Drops the partitions of <paramref name="parent"/> that end before <paramref name="cutoff"/>; their names.</summary>
    public async Task<List<string>> DropRangePartitionsBeforeAsync(string parent, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var dropped = new List<string>();
        await using var command = dataSource.CreateCommand("SELECT * FROM phantom_drop_range_partitions_before(@parent::regclass, @cutoff)");
        command.Parameters.AddWithValue("parent", parent);
        command.Parameters.AddWithValue("cutoff", cutoff);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            dropped.Add(reader.GetString(0));
        }

        return dropped;
    }

    /// <summary>Deletes up to <paramref name="limit"/> audit rows per partition whose retention_until passed at <paramref name="now"/>.</summary>
    public async Task<long> ExpireAuditRowsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT phantom_expire_audit_rows(@now, @limit)");
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("limit", limit);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Drops the audit partitions that ended before <paramref name="now"/> and hold no unexpired row; their names.</summary>
    public async Task<List<string>> DropExpiredAuditPartitionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dropped = new List<string>();
        await using var command = dataSource.CreateCommand("SELECT * FROM phantom_drop_expired_audit_partitions(@now)");
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            dropped.Add(reader.GetString(0));
        }

        return dropped;
    }

    /// <summary>Forgets the audit event ids older than <paramref name="cutoff"/> (their audit partitions are gone); how many.</summary>
    public async Task<long> ForgetAuditEventIdsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT phantom_forget_audit_event_ids(@cutoff)");
        command.Parameters.AddWithValue("cutoff", cutoff);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
