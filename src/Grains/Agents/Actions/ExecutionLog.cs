using System.Text.Json;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// The entries an attempt writes, gathered in memory and written by the execution at its next transition. At most
/// <c>limit</c> entries are kept per execution (agent_log_entries_per_execution); further ones are counted as dropped,
/// so a chatty agent can neither grow its history without bound nor fail because of its log.
/// </summary>
public sealed class ExecutionLog(TimeProvider time, int attempt, long written, long limit)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const int MaxMessageLength = 4000;
    private const int MaxFieldsLength = 16_000;
    private readonly List<LogEntry> _pending = [];

    /// <summary>Entries dropped over the limit since the last <see cref="Take"/>.</summary>
    public int Dropped { get; private set; }

    /// <summary>Writes an entry; <paramref name="fields"/> is serialized as a JSON object.</summary>
    public void Write(LogLevelName level, string message, object? fields = null)
    {
        lock (_pending)
        {
            if (written + _pending.Count >= limit)
            {
                Dropped++;
                return;
            }

            var json = fields is null ? null : JsonSerializer.Serialize(fields, Json);
            _pending.Add(new LogEntry(written + _pending.Count + 1, time.GetUtcNow(), level,
                message.Length <= MaxMessageLength ? message : message[..MaxMessageLength] + "…",
                attempt, json is { Length: > MaxFieldsLength } ? JsonSerializer.Serialize(new { cut = json.Length }) : json));
        }
    }

    /// <summary>Info entry.</summary>
    public void Info(string message, object? fields = null) => Write(LogLevelName.Info, message, fields);

    /// <summary>Warning entry.</summary>
    public void Warning(string message, object? fields = null) => Write(LogLevelName.Warning, message, fields);

    /// <summary>Error entry.</summary>
    public void Error(string message, object? fields = null) => Write(LogLevelName.Error, message, fields);

    /// <summary>The entries written since the last call (and how many were dropped); the numbering continues after them.</summary>
    public (IReadOnlyList<LogEntry> Entries, int Dropped) Take()
    {
        lock (_pending)
        {
            var taken = (_pending.ToList(), Dropped);
            written += _pending.Count;
            _pending.Clear();
            Dropped = 0;
            return taken;
        }
    }
}
