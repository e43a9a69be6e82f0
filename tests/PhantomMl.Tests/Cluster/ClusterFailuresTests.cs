namespace PhantomMl.Tests.Cluster;

/// <summary>Which failures the SDK retries and the HTTP front end answers with 503: the cluster's, never the caller's own.</summary>
public sealed class ClusterFailuresTests
{
    [Fact]
    public void A_cancellation_is_the_clusters_unless_the_caller_cancelled()
    {
        // A survivor cancels a call it could not place before the call expired, while its directory still points at a dead
        // silo: placed again a moment later, the call succeeds.
        var expired = new OperationCanceledException("Message expired before placement could complete for grain probe/x");
        Assert.True(ClusterFailures.IsTransient(expired, CancellationToken.None));
        Assert.True(ClusterFailures.IsTransient(new TaskCanceledException(), CancellationToken.None));

        using var caller = new CancellationTokenSource();
        caller.Cancel();
        Assert.False(ClusterFailures.IsTransient(new OperationCanceledException(caller.Token), caller.Token));
        Assert.False(ClusterFailures.IsTransient(expired, caller.Token));
    }

    [Fact]
    public void An_unreachable_or_dead_silo_and_a_response_timeout_are_transient_and_the_platforms_errors_are_not()
    {
        Assert.True(ClusterFailures.IsTransient(new SiloUnavailableException(), CancellationToken.None));
        Assert.True(ClusterFailures.IsTransient(new TimeoutException("Response did not arrive on time"), CancellationToken.None));
        Assert.False(ClusterFailures.IsTransient(new PhantomException(404, "not-found", "Not found", "no such model"), CancellationToken.None));
        Assert.False(ClusterFailures.IsTransient(new InvalidOperationException(), CancellationToken.None));
    }
}
