using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Models;

namespace PhantomMl.Bench;

/// <summary>A grain that does nothing: what a bare Orleans call costs on this machine.</summary>
[Alias("phantomml.bench.IBareGrain")]
public interface IBareGrain : IGrainWithIntegerKey
{
    [Alias("PingAsync")] Task<int> PingAsync(int value);
}

/// <inheritdoc cref="IBareGrain" />
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
public sealed class BareGrain : Grain, IBareGrain
{
    public Task<int> PingAsync(int value) => Task.FromResult(value);
}

/// <summary>
/// The grain-call floor, in the same run: an authenticated call through the SDK that does no work (the platform's whole
/// call path: client filters, gateway, the call gate's authentication, authorization, routing to a stateless worker,
/// the answer) against a bare Orleans call (a silo hosted in this process on its own ports, localhost clustering, no
/// filters, no authentication, to a stateless worker returning its argument), each at concurrency 1 and 64.
/// </summary>
public static class CallFloor
{
    public static async Task RunAsync(BenchPlatform platform, BenchSettings settings)
    {
        var (onnx, rows) = await InferenceThroughput.TrainScorerAsync(settings);
        await platform.Tenant.CreateModelAsync(platform.TenantKey, "floor", new CreateModel("classifier", "fasttree"));
        await platform.Tenant.RegisterModelVersionAsync(platform.TenantKey, "floor", new RegisterVersion("1"));
        await platform.Tenant.UploadModelArtifactAsync(platform.TenantKey, "floor", "1", new MemoryStream(onnx));

        using var silo = await StartAsync(new HostBuilder().UseOrleans(orleans => orleans
            .UseLocalhostClustering(siloPort: 11196, gatewayPort: 30096, serviceId: "bench-bare", clusterId: "bench-bare")));
        using var client = await StartAsync(new HostBuilder().UseOrleansClient(orleans => orleans
            .UseLocalhostClustering(gatewayPort: 30096, serviceId: "bench-bare", clusterId: "bench-bare")));
        var bare = client.Services.GetRequiredService<IClusterClient>().GetGrain<IBareGrain>(0);

        var duration = TimeSpan.FromSeconds(Math.Max(2, settings.Duration.TotalSeconds / 2));
        var paths = new (string Name, Func<IReadOnlyDictionary<string, double>, Task> Call)[]
        {
            ("bare Orleans call", _ => bare.PingAsync(1)),
            // Authenticated, authorized and routed like a prediction, answered from memory: nothing scored or recorded.
            ("SDK authenticated call", _ => platform.Tenant.DescribeModelInputsAsync(platform.TenantKey, "floor", "1")),
        };
        var results = new Dictionary<(string, int), double>();
        foreach (var concurrency in new[] { 1, 64 })
        {
            foreach (var (name, call) in paths)
            {
                await call(rows[0]);
                var (perSecond, p50, p99, _) = await InferenceThroughput.MeasureAsync(call, rows, concurrency, duration);
                results[(name, concurrency)] = perSecond;
                Console.WriteLine($"{name,-30} concurrency {concurrency,2}: {perSecond,9:N0} calls/s  p50 {p50,7:F2} ms  p99 {p99,7:F2} ms");
            }
        }

        foreach (var concurrency in new[] { 1, 64 })
        {
            Console.WriteLine($"ratio at concurrency {concurrency}: SDK/bare {results[("SDK authenticated call", concurrency)] / results[("bare Orleans call", concurrency)]:F3}");
        }
    }

    private static async Task<IHost> StartAsync(IHostBuilder builder)
    {
        var host = builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)).Build();
        await host.StartAsync();
        return host;
    }
}
