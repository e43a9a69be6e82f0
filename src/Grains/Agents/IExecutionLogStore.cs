namespace PhantomMl.Grains.Agents;

/// <summary>A log entry as an execution writes it.</summary>
/// <remarks><see cref="Sequence"/> numbers an execution's entries from 1; writing the same number again adds nothing.</remarks>
public sealed record LogEntry(long Sequence, DateTimeOffset Timestamp, LogLevelName Level, string Message, int Attempt, string? Fields = null);

/// <summary>The levels of an execution's log, in order of severity.</summary>
public enum LogLevelName
{
    Debug = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
}

/// <summary>
/// Where executions' step logs are kept: timestamped, levelled, structured documents, paged per execution and filtered
/// by level, and every read and write scoped to one tenant. PostgreSQL JSONB is the default; MongoDB is used when
/// <c>ConnectionStrings:MongoDb</c> is set (the design's agent_execution_logs collection).
/// </summary>
public interface IExecutionLogStore
{
    /// <summary>Appends entries of one execution, kept for <paramref name="retentionDays"/>.</summary>
    Task AppendAsync(Guid tenantId, Guid executionId, IReadOnlyList<LogEntry> entries, int retentionDays,
        CancellationToken cancellationToken = default);

    /// <summary>Entries of one execution at or above <paramref name="minLevel"/>, oldest first, after the cursor <paramref name="after"/>.</summary>
    Task<ExecutionLogPage> ReadAsync(Guid tenantId, Guid executionId, LogLevelName minLevel, long? after, int limit,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes entries older than each tenant's retention; returns how many (where the store can tell).</summary>
    Task<long> ExpireAsync(CancellationToken cancellationToken = default);
}
