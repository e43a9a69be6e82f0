using Orleans.Runtime.Messaging;

namespace PhantomMl.Grains;

/// <summary>Failures of the cluster rather than of a call: its silo is going or gone, and the grain will answer again elsewhere.</summary>
public static class ClusterFailures
{
    /// <summary>
    /// Whether <paramref name="exception"/> means the call's silo is unreachable or being declared dead (about 10 s after a
    /// crash); the call can be retried and will find its grain reactivated on another silo.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception is SiloUnavailableException
        or OrleansMessageRejectionException
        or ConnectionFailedException
        or GatewayTooBusyException
        or TimeoutException;
}
