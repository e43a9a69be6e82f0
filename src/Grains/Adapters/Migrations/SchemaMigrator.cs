using Microsoft.Extensions.Logging;
using Npgsql;

namespace PhantomMl.Grains.Adapters.Migrations;

/// <summary>
/// Brings every store to the schema this build expects. Safe to run twice and from several silos at
/// once: the whole run holds a PostgreSQL advisory lock, so one process migrates while the others wait
/// and then find nothing left to do. A script that changed after it was applied stops the run.
/// </summary>
public sealed partial class SchemaMigrator(
    NpgsqlDataSource lockSource,
    IEnumerable<IMigrationStore> stores,
    ILogger<SchemaMigrator> logger)
{
    // Any constant shared by every process of the platform; ASCII of "PHMLSCHM".
    private const long AdvisoryLockKey = 0x50484D4C5343484D;

    /// <summary>Applies every pending script of every store.</summary>
    public async Task<IReadOnlyList<MigrationResult>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var lockConnection = await lockSource.OpenConnectionAsync(cancellationToken);
        await using (var acquire = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", lockConnection))
        {
            await acquire.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var results = new List<MigrationResult>();
            foreach (var store in stores)
            {
                results.Add(await MigrateStoreAsync(store, cancellationToken));
            }

            return results;
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>The scripts not applied yet, per store; empty lists mean the schema is current.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> GetPendingAsync(CancellationToken cancellationToken = default)
    {
        var pending = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var store in stores)
        {
            var applied = await store.ReadAppliedAsync(cancellationToken);
            pending[store.Store] = store.Scripts.Where(s => !applied.ContainsKey(s.Version)).Select(s => s.Name).ToList();
        }

        return pending;
    }

    private async Task<MigrationResult> MigrateStoreAsync(IMigrationStore store, CancellationToken cancellationToken)
    {
        await store.EnsureHistoryTableAsync(cancellationToken);
        var applied = await store.ReadAppliedAsync(cancellationToken);

        foreach (var script in store.Scripts)
        {
            if (applied.TryGetValue(script.Version, out var checksum) && checksum != script.Checksum && script.SupersededChecksums.Contains(checksum))
            {
                LogCommentsRevised(store.Store, script.Name);
                await store.RecordChecksumAsync(script, cancellationToken);
            }
            else if (applied.TryGetValue(script.Version, out checksum) && checksum != script.Checksum)
            {
                throw new InvalidOperationException(
                    $"{store.Store} migration {script.Name} changed after it was applied (checksum {checksum}, now {script.Checksum}). " +
                    "Applied migrations are immutable: add a new migration instead.");
            }
        }

        var appliedNow = new List<string>();
        foreach (var script in store.Scripts.Where(s => !applied.ContainsKey(s.Version)))
        {
            LogApplying(store.Store, script.Name);
            await store.ApplyAsync(script, cancellationToken);
            appliedNow.Add(script.Name);
        }

        var current = store.Scripts.Count == 0 ? 0 : store.Scripts[^1].Version;
        LogCurrent(store.Store, current, appliedNow.Count);
        return new MigrationResult(store.Store, appliedNow, current);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "{Store} migration {Migration} was applied from an earlier text that differs in comments only; recording its current checksum")]
    private partial void LogCommentsRevised(string store, string migration);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Store} migration {Migration}")]
    private partial void LogApplying(string store, string migration);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Store} schema is at version {Version} ({AppliedCount} applied by this run)")]
    private partial void LogCurrent(string store, int version, int appliedCount);
}
