using System.Net;
using PhantomMl.Client;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Cluster;

/// <summary>
/// Failed authentications are counted, and past the limit the answer is 429 with a retry-after: per client address over
/// HTTP (ASP.NET Core's rate limiter and the grains), per key prefix and per client connection through the SDK.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class AuthenticationLimitTests
{
    [Fact]
    public async Task Past_the_limit_failed_authentications_are_answered_429_with_Retry_After()
    {
        // A deployment of its own (its own cluster secret, so its own failure counters in the shared Redis): the failures
        // other tests provoke from 127.0.0.1 on purpose must not count here.
        await using var databases = await MigratedDatabases.CreateAsync("authlimits");
        await using var silo = await SiloProcess.StartAsync(ClusterDatabasesFixture.NewClusterId(), databases, settings: new Dictionary<string, string>
        {
            ["Phantom__Security__FailuresPerClient"] = "5",
            ["Phantom__Security__FailuresPerKeyPrefix"] = "3",
        });
        await silo.WaitUntilReadyAsync();
        var api = new PlatformApi(silo);
        var (tenant, key) = await api.CreateTenantWithAdminAsync("limits");
        var token = TestContext.Current.CancellationToken;

        // SDK, one key prefix: a guessed secret for a real key's prefix is refused three times, then 429 (for that prefix).
        var guessed = key[..17] + new string('A', key.Length - 17);
        await using (var guesser = await ConnectAsync(silo, guessed))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(401, (await Assert.ThrowsAsync<PhantomException>(() => guesser.GetTenantAsync(tenant, token))).Status);
            }

            var limited = await Assert.ThrowsAsync<PhantomException>(() => guesser.GetTenantAsync(tenant, token));
            Assert.Equal((429, true), (limited.Status, int.Parse(limited.Extensions["retryAfter"]) > 0));
        }

        // SDK, one client connection: keys that are not keys at all (no prefix to count) are counted per connection.
        await using (var scanner = await ConnectAsync(silo, "not-a-key"))
        {
            var statuses = new List<int>();
            for (var i = 0; i < 7; i++)
            {
                statuses.Add((await Assert.ThrowsAsync<PhantomException>(() => scanner.GetTenantAsync(tenant, token))).Status);
            }

            Assert.Equal([401, 401, 401, 401, 401, 429, 429], statuses);
        }

        // HTTP, one client address: five refusals, then 429 with Retry-After for anything from that address, even a good key.
        for (var i = 0; i < 5; i++)
        {
            using var refused = await silo.GetAsync($"/api/v1/tenants/{tenant}", apiKey: $"phm_{i:D12}_bad");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var limitedHttp = await silo.GetAsync($"/api/v1/tenants/{tenant}", apiKey: "phm_bad");
        Assert.Equal(HttpStatusCode.TooManyRequests, limitedHttp.StatusCode);
        Assert.True(limitedHttp.Headers.RetryAfter?.Delta > TimeSpan.Zero, "no Retry-After");
        Assert.Equal("application/problem+json", limitedHttp.Content.Headers.ContentType?.MediaType);
        using var goodKeyToo = await silo.GetAsync($"/api/v1/tenants/{tenant}", apiKey: key);
        Assert.Equal(HttpStatusCode.TooManyRequests, goodKeyToo.StatusCode);
        // Health and the API reference are not behind the limiter.
        using var health = await silo.GetAsync("/health/live", apiKey: "");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static Task<PhantomClient> ConnectAsync(SiloProcess silo, string apiKey) => PhantomClient.ConnectAsync(new PhantomClientOptions
    {
        Gateways = [$"127.0.0.1:{silo.Endpoints.GatewayPort}"],
        ClusterId = silo.ClusterId,
        ApiKey = apiKey,
    }, TestContext.Current.CancellationToken);
}
