namespace PhantomMl.Grains.Security;

/// <summary>
/// Calls between the platform's own components (the built-in trainer registering what it trained, the watchdog
/// recovering a job, inference resolving what an alias serves) run as a named component instead of a user: they carry
/// the cluster's internal secret in the call context, and <see cref="CallerAuthenticator"/> turns it into a
/// platform-wide caller <c>system:{component}</c>. Every grain still checks and audits such calls like any other.
/// </summary>
public sealed class InternalCalls(ClusterSecret secret)
{
    /// <summary>Runs <paramref name="work"/> as <paramref name="component"/>; calls it makes are internal calls.</summary>
    public async Task<T> AsComponentAsync<T>(string component, Func<Task<T>> work)
    {
        var value = secret.Value ?? throw new InvalidOperationException("The cluster's internal secret is not loaded.");
        RequestContext.Clear();
        RequestContext.Set(CallContext.InternalSecret, value);
        RequestContext.Set(CallContext.Component, component);
        // No request id: each call the component makes is its own request (its own audit event id).
        try
        {
            return await work();
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>Whether <paramref name="presented"/> is the cluster's internal secret.</summary>
    public bool IsInternal(string presented) => secret.Matches(presented);
}
