using Orleans.Runtime.Messaging;

namespace PhantomMl.Grains;

/// <summary>Failures of the cluster rather than of a call: its silo is going or gone, and the grain will answer again elsewhere.</summary>
public static class ClusterFailures
{
    /// <summary>
    /// Whether <paramref name="exception"/> means the call's silo is unreachable or being declared dead (about 10 s after a
    /// crash); the call can be retried and will find its grain reactivated on another silo. A cancellation counts unless
    /// the caller asked for it (<paramref name="callerToken"/>): a silo whose grain directory still points at a dead silo
    /// cancels the call when it expires before placement could complete ("Message expired before placement could
    /// complete"), and the same call placed again once the silo is declared dead succeeds.
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken) => exception is SiloUnavailableException
        or OrleansMessageRejectionException
        or ConnectionFailedException
        or GatewayTooBusyException
        or TimeoutException
        || (exception is OperationCanceledException && !callerToken.IsCancellationRequested);
}
