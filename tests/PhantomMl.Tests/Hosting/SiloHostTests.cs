using System.Diagnostics;
using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Hosting;

[Collection(SiloProcessCollection.Name)]
public sealed class SiloHostTests(ClusterDatabasesFixture fixture)
{
    [Fact]
    public async Task Ready_turns_503_naming_a_stopped_dependency_and_recovers_when_it_returns()
    {
        var redisPort = TestServices.FreePort();
        using var redis = StartRedis(redisPort);
        try
        {
            await using var silo = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(),
                fixture.Databases, redis: $"127.0.0.1:{redisPort}");
            await silo.WaitUntilReadyAsync();

            await RunAsync("redis-cli", $"-p {redisPort} shutdown nosave");
            var (status, body) = await PollReadyUntilAsync(silo, HttpStatusCode.ServiceUnavailable);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            var checks = body.RootElement.GetProperty("checks");
            Assert.Equal("Unhealthy", checks.GetProperty("redis").GetProperty("status").GetString());
            Assert.Equal("Healthy", checks.GetProperty("postgresql").GetProperty("status").GetString());
            Assert.Equal("Healthy", checks.GetProperty("clickhouse").GetProperty("status").GetString());
            using (var live = await silo.GetAsync("/health/live"))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            using var restarted = StartRedis(redisPort);
            var (recovered, _) = await PollReadyUntilAsync(silo, HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.OK, recovered);
            await RunAsync("redis-cli", $"-p {redisPort} shutdown nosave");
        }
        finally
        {
            await RunAsync("redis-cli", $"-p {redisPort} shutdown nosave");
        }
    }

    [Fact]
    public async Task The_host_serves_OpenAPI_the_API_reference_the_dashboard_and_ProblemDetails()
    {
        await using var silo = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(), fixture.Databases);
        await silo.WaitUntilReadyAsync();

        using (var openApi = await silo.GetAsync("/openapi/v1.json"))
        {
            Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
            var document = await openApi.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Contains("/api/v1/cluster/silos", document);
            Assert.Contains("/api/v1/maintenance/partitions", document);
        }

        using (var docs = await silo.GetAsync("/docs/"))
        {
            Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
            Assert.Contains("text/html", docs.Content.Headers.ContentType?.MediaType);
        }

        using (var dashboard = await silo.GetAsync("/dashboard/"))
        {
            Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
            Assert.Contains("Orleans", await dashboard.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);
        }

        // The dashboard is for platform admins: a browser sends the key as the Basic password.
        using (var anonymous = await silo.GetAsync("/dashboard/", apiKey: ""))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains(anonymous.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        var basic = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"admin:{silo.AdminKey}"));
        using (var browser = await silo.SendAsync(HttpMethod.Get, "/dashboard/", apiKey: "", headers: new Dictionary<string, string> { ["Authorization"] = $"Basic {basic}" }))
        {
            Assert.Equal(HttpStatusCode.OK, browser.StatusCode);
        }

        using (var missing = await silo.GetAsync("/api/v1/no-such-thing"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        using (var invalid = await silo.PostAsync("/api/v1/cluster/probes/bad%20key%21"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType?.MediaType);
        }

        using (var maintenance = await silo.PostAsync("/api/v1/maintenance/partitions"))
        {
            Assert.Equal(HttpStatusCode.OK, maintenance.StatusCode);
        }

        // Everything under /api needs a key; health and the API docs do not.
        foreach (var path in new[] { "/api/v1/cluster/silos", "/api/v1/me", "/api/v1/tenants", "/api/v1/maintenance/partitions" })
        {
            using var anonymous = await silo.GetAsync(path, apiKey: "");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }

        foreach (var path in new[] { "/health/live", "/health/ready", "/openapi/v1.json", "/docs/" })
        {
            using var open = await silo.GetAsync(path, apiKey: "");
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        }
    }

    private static Process StartRedis(int port) =>
        Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save '' --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");

    private static async Task RunAsync(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.WaitForExitAsync();
    }

    /// <summary>Polls /health/ready until it answers <paramref name="wanted"/>, for at most 30 s.</summary>
    private static async Task<(HttpStatusCode Status, JsonDocument Body)> PollReadyUntilAsync(SiloProcess silo, HttpStatusCode wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await silo.GetAsync("/health/ready");
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (response.StatusCode == wanted || DateTime.UtcNow > deadline)
            {
                return (response.StatusCode, body);
            }

            body.Dispose();
            await Task.Delay(250);
        }
    }
}
