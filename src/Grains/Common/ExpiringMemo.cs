using System.Collections.Concurrent;

namespace PhantomMl.Grains.Common;

/// <summary>
/// A per-silo memo of answers that stay true for a while (which tenant a job belongs to, what an alias resolves to):
/// each entry is trusted until its own expiry. Bounded the blunt way: past <paramref name="capacity"/> entries it
/// starts over, which only costs lookups.
/// </summary>
public sealed class ExpiringMemo<TKey, TValue>(int capacity) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Until)> _entries = new();

    /// <summary>The remembered value, when it has not expired at <paramref name="now"/>.</summary>
    public bool TryGet(TKey key, DateTimeOffset now, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Until > now)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Remembers <paramref name="value"/> until <paramref name="until"/>.</summary>
    public void Set(TKey key, TValue value, DateTimeOffset until)
    {
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = (value, until);
    }
}
