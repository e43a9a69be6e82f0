namespace PhantomMl.Grains.Adapters.Migrations;

/// <summary>What one migration run did on one store.</summary>
/// <param name="Store">postgresql or clickhouse.</param>
/// <param name="Applied">The scripts applied by this run; empty when the schema was current.</param>
/// <param name="CurrentVersion">The highest version applied after the run.</param>
public sealed record MigrationResult(string Store, IReadOnlyList<string> Applied, int CurrentVersion);
