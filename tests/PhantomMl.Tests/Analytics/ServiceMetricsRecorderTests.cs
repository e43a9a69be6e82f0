using System.Diagnostics;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Analytics;

namespace PhantomMl.Tests.Analytics;

/// <summary>The in-silo recorder: what it counts survives concurrent draining, and its latency buckets are where they say.</summary>
public sealed class ServiceMetricsRecorderTests
{
    [Fact]
    public async Task Every_call_recorded_while_another_thread_drains_is_counted_exactly_once()
    {
        var metrics = new ServiceMetrics(Options.Create(new AnalyticsOptions()));
        const int Threads = 8, CallsPerThread = 50_000;
        var tenant = new TenantAttribution(Guid.NewGuid(), null);
        var drained = new List<OperationInterval>();
        using var recording = new CancellationTokenSource();
        var drainer = Task.Run(() =>
        {
            while (!recording.IsCancellationRequested)
            {
                drained.AddRange(metrics.Drain());
            }
        }, TestContext.Current.CancellationToken);

        Parallel.For(0, Threads, thread =>
        {
            for (var i = 0; i < CallsPerThread; i++)
            {
                var outcome = i % 10 == 0 ? CallOutcome.ClientError : i % 25 == 0 ? CallOutcome.ServerError : CallOutcome.Success;
                metrics.Record(ServiceMetrics.GrainService, $"IOp.Method{thread % 2}", tenant, Stopwatch.GetTimestamp(), outcome);
            }
        });
        recording.Cancel();
        await drainer;
        drained.AddRange(metrics.Drain());

        Assert.Equal(Threads * CallsPerThread, drained.Sum(d => d.Calls));
        Assert.Equal(Threads * CallsPerThread, drained.Sum(d => d.Latency.Sum(bucket => bucket.Count)));
        Assert.Equal(Threads * (CallsPerThread / 10), drained.Sum(d => d.ClientErrors));
        Assert.Equal(Threads * Enumerable.Range(0, CallsPerThread).Count(i => i % 10 != 0 && i % 25 == 0), drained.Sum(d => d.ServerErrors));
        Assert.Equal(["IOp.Method0", "IOp.Method1"], drained.Select(d => d.Operation).Distinct().Order().ToArray());
        Assert.All(drained, d => Assert.Equal(tenant, d.Tenant));
        Assert.Empty(metrics.Drain()); // nothing left, nothing counted twice
    }

    [Fact]
    public void Operations_past_the_bound_are_counted_as_other_instead_of_growing_memory()
    {
        var metrics = new ServiceMetrics(Options.Create(new AnalyticsOptions()));
        for (var i = 0; i < ServiceMetrics.MaxEntries + 100; i++)
        {
            metrics.Record(ServiceMetrics.HttpService, $"GET /op/{i}", TenantAttribution.None, Stopwatch.GetTimestamp(), CallOutcome.Success);
        }

        var drained = metrics.Drain();
        Assert.Equal(ServiceMetrics.MaxEntries + 1, drained.Count);
        Assert.Equal(100, drained.Single(d => d.Operation == "other").Calls);
    }

    [Fact]
    public void Nothing_is_recorded_when_service_metrics_are_off()
    {
        var metrics = new ServiceMetrics(Options.Create(new AnalyticsOptions { ServiceMetrics = false }));
        metrics.Record(ServiceMetrics.HttpService, "GET /x", TenantAttribution.None, Stopwatch.GetTimestamp(), CallOutcome.Success);
        Assert.Empty(metrics.Drain());
    }

    [Theory]
    [InlineData(0.0, 0.01)]
    [InlineData(0.01, 0.01)]
    [InlineData(0.0101, 0.01091)]
    [InlineData(1.0, 1.076)]
    [InlineData(1.05, 1.076)]
    [InlineData(250.0, 252.7)]
    [InlineData(1e9, 1.538e5)]
    public void A_latency_falls_in_the_first_bucket_whose_upper_bound_is_not_below_it(double milliseconds, double bound)
    {
        var index = LatencyHistogram.IndexOf(milliseconds);
        Assert.Equal(bound, LatencyHistogram.UpperBoundMs(index), 3);
        if (milliseconds is > 0.01 and < 1e5)
        {
            Assert.True(LatencyHistogram.UpperBoundMs(index) >= milliseconds * 0.9999);
            Assert.True(LatencyHistogram.UpperBoundMs(index - 1) < milliseconds);
        }
    }
}
