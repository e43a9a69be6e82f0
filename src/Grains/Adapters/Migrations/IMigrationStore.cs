namespace PhantomMl.Grains.Adapters.Migrations;

/// <summary>One database whose schema is kept by numbered scripts.</summary>
public interface IMigrationStore
{
    /// <summary>The store's name, also the folder of its scripts: postgresql or clickhouse.</summary>
    string Store { get; }

    /// <summary>Every script of the store, ordered by version.</summary>
    IReadOnlyList<MigrationScript> Scripts { get; }

    /// <summary>Creates the history table (and the database, where the store needs it) if missing.</summary>
    Task EnsureHistoryTableAsync(CancellationToken cancellationToken);

    /// <summary>The applied versions with their checksums; empty when the history does not exist.</summary>
    Task<IReadOnlyDictionary<int, string>> ReadAppliedAsync(CancellationToken cancellationToken);

    /// <summary>Applies one script and records it.</summary>
    Task ApplyAsync(MigrationScript script, CancellationToken cancellationToken);

    /// <summary>Records the current checksum of an applied script whose earlier text differed in comments only.</summary>
    Task RecordChecksumAsync(MigrationScript script, CancellationToken cancellationToken);
}
