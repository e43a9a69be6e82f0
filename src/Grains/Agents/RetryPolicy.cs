namespace PhantomMl.Grains.Agents;

/// <summary>
/// When the next attempt of a failed execution starts: exponential backoff with "equal jitter" (half the delay fixed,
/// half random), so many executions failing together (a dependency was down) do not all come back at the same moment,
/// and none comes back sooner than half its backoff.
/// </summary>
public sealed class RetryPolicy(TimeSpan baseDelay, TimeSpan maxDelay)
{
    /// <summary>The delay before attempt <paramref name="nextAttempt"/> (2 for the first retry); <paramref name="random"/> in [0, 1).</summary>
    public TimeSpan DelayBefore(int nextAttempt, double random)
    {
        var exponent = Math.Clamp(nextAttempt - 2, 0, 30);
        var backoff = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds((backoff / 2) + (backoff / 2 * Math.Clamp(random, 0, 1)));
    }

    /// <summary>The bounds <see cref="DelayBefore"/> keeps to, for documentation and tests.</summary>
    public (TimeSpan Min, TimeSpan Max) Bounds(int nextAttempt) => (DelayBefore(nextAttempt, 0), DelayBefore(nextAttempt, 1));
}
