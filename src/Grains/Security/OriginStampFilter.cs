namespace PhantomMl.Grains.Security;

/// <summary>
/// Marks every call this silo makes (from a grain, the HTTP front end, or Orleans itself) with the cluster's internal
/// secret, so the receiving silo can tell it from a client's call (<see cref="ClientCallGate"/>). The gateway does not
/// check who a client's message claims to come from, so the sender id cannot serve; the secret can, because clients
/// never hold it. It is never sent to a client (an observer), whose calls are not marked.
/// </summary>
public sealed class OriginStampFilter(ClusterSecret secret) : IOutgoingGrainCallFilter
{
    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.TargetId.IsClient())
        {
            RequestContext.Remove(CallContext.Origin);
        }
        else if (secret.Value is { } value)
        {
            RequestContext.Set(CallContext.Origin, value);
        }

        return context.Invoke();
    }
}
