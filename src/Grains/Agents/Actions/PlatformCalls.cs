using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// How actions call the platform: as the component <c>agent</c>, on the execution's own tenant only, with the platform's
/// errors sorted into retryable (unavailable, throttled, conflicting) and final (the request itself is wrong).
/// </summary>
public sealed class PlatformCalls(IGrainFactory grains, InternalCalls internalCalls)
{
    /// <summary>The cluster's grains.</summary>
    public IGrainFactory Grains { get; } = grains;

    /// <summary>Calls <paramref name="call"/> as the agent component; a platform error becomes an <see cref="AgentFailure"/>.</summary>
    public async Task<T> CallAsync<T>(Func<IGrainFactory, Task<T>> call)
    {
        try
        {
            return await internalCalls.AsComponentAsync("agent", () => call(Grains));
        }
        catch (PhantomException e)
        {
            throw new AgentFailure($"{e.Title}: {e.Detail}", Retryable(e.Status), e.Status);
        }
    }

    /// <summary>Whether an answer of <paramref name="status"/> may change on another attempt.</summary>
    public static bool Retryable(int status) => status is 408 or 409 or 412 or 429 or >= 500;
}
