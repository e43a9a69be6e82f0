namespace PhantomMl.Grains.Training;

/// <summary>
/// Builds a columnar <see cref="MetricBatch"/> point by point, naming each metric once: how the SDK, the HTTP API and
/// the built-in trainer all pack their points.
/// </summary>
public sealed class MetricBatchBuilder(int capacity)
{
    private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
    private readonly List<int> _nameIndex = new(capacity);
    private readonly List<long> _steps = new(capacity);
    private readonly List<double> _values = new(capacity);
    private readonly List<long> _timestamps = new(capacity);

    /// <summary>Adds a point; a null name is kept as the empty name (the grain refuses it, naming the point).</summary>
    public void Add(string? name, double value, long step, long timestampMs)
    {
        name ??= "";
        if (!_names.TryGetValue(name, out var index))
        {
            _names[name] = index = _names.Count;
        }

        _nameIndex.Add(index);
        _steps.Add(step);
        _values.Add(value);
        _timestamps.Add(timestampMs);
    }

    /// <summary>The batch of every point added.</summary>
    public MetricBatch Build(string batchId, bool allowNonFinite = false) =>
        new(batchId, [.. _names.Keys], [.. _nameIndex], [.. _steps], [.. _values], [.. _timestamps], allowNonFinite);
}
