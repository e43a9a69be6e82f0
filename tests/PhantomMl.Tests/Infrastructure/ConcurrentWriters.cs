namespace PhantomMl.Tests.Infrastructure;

/// <summary>How the group-commit tests send the same numbered updates both ways.</summary>
public static class ConcurrentWriters
{
    /// <summary>
    /// Update <c>i</c> belongs to writer <c>i % writers</c>; every writer sends its own updates in order, each after the
    /// previous one was answered, and all writers at once. Returns each update's outcome by number.
    /// </summary>
    public static async Task<T[]> TogetherAsync<T>(int writers, int updates, Func<int, Task<T>> apply)
    {
        var outcomes = new T[updates];
        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            for (var i = writer; i < updates; i += writers)
            {
                outcomes[i] = await apply(i);
            }
        })));
        return outcomes;
    }

    /// <summary>The same updates one at a time, in number order (so every writer's own order too).</summary>
    public static async Task<T[]> OneByOneAsync<T>(int updates, Func<int, Task<T>> apply)
    {
        var outcomes = new T[updates];
        for (var i = 0; i < updates; i++)
        {
            outcomes[i] = await apply(i);
        }

        return outcomes;
    }
}
