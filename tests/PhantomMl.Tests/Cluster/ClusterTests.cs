using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using PhantomMl.Client;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Diagnostics;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Cluster;

[Collection(SiloProcessCollection.Name)]
public sealed class ClusterTests(ClusterDatabasesFixture fixture)
{
    /// <summary>How long a grain of a killed silo may take to answer again from the survivor.</summary>
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(30);

    private MigratedDatabases Databases => fixture.Databases;

    [Fact]
    public async Task Grain_state_persists_across_a_silo_restart()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        var endpoints = SiloEndpoints.Free();
        var key = $"restart-{Guid.NewGuid():N}";

        await using (var silo = await StartReadySiloAsync(clusterId, endpoints))
        await using (var client = await ConnectAsync(clusterId, silo))
        {
            for (var i = 0; i < 3; i++)
            {
                await client.TouchProbeAsync(key, TestContext.Current.CancellationToken);
            }
        }

        await using var restarted = await StartReadySiloAsync(clusterId, endpoints);
        await using var again = await ConnectAsync(clusterId, restarted);
        var reading = await again.ReadProbeAsync(key, TestContext.Current.CancellationToken);

        Assert.Equal(3, reading.Count);
        Assert.Equal(4, (await again.TouchProbeAsync(key, TestContext.Current.CancellationToken)).Count);

        // Probes are the cluster's: no key, no probe; and every touch is in the platform's audit trail.
        await using var anonymous = await PhantomClient.ConnectAsync(
            new PhantomClientOptions { MembershipConnectionString = Databases.Membership, ClusterId = clusterId }, TestContext.Current.CancellationToken);
        var refused = await Assert.ThrowsAsync<PhantomException>(() => anonymous.TouchProbeAsync(key, TestContext.Current.CancellationToken));
        Assert.Equal(401, refused.Status);
        var trail = await again.QueryAuditAsync("platform", new AuditQuery(ResourceType: "probe", ResourceId: key, Action: "touch"), TestContext.Current.CancellationToken);
        Assert.Equal(4, trail.Entries.Count);
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_and_a_client_reaches_grains_on_both()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await StartReadySiloAsync(clusterId);
        await using var second = await StartReadySiloAsync(clusterId);
        await using var client = await ConnectAsync(clusterId, first);

        var silos = await first.GetFromJsonAsync<SiloView[]>("/api/v1/cluster/silos");
        Assert.Equal(2, silos.Length);
        Assert.All(silos, s => Assert.Equal("Active", s.Status));

        var hosts = await TouchUntilBothSilosHostAsync(client, first, second);
        Assert.Equal(2, hosts.Select(h => h.Silo).Distinct().Count());
    }

    [Fact]
    public async Task A_grain_on_a_killed_silo_answers_again_with_its_state_within_30_seconds()
    {
        await using var cluster = await StartTwoSilosAsync();
        var persisted = (await cluster.Client.TouchProbeAsync(cluster.KeyOnVictim, TestContext.Current.CancellationToken)).Count;

        cluster.Victim.Kill();
        var clock = Stopwatch.StartNew();
        var after = await cluster.Client.ReadProbeAsync(cluster.KeyOnVictim, TestContext.Current.CancellationToken);
        clock.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"grain answered from the surviving silo {clock.Elapsed.TotalSeconds:F1}s after kill -9");

        Assert.Equal(persisted, after.Count);
        Assert.StartsWith(SiloPrefix(cluster.Survivor), after.Silo);
        Assert.True(clock.Elapsed < FailoverBound, $"took {clock.Elapsed.TotalSeconds:F1}s");
    }

    [Fact]
    public async Task During_failover_the_HTTP_API_answers_503_with_Retry_After_never_500()
    {
        await using var cluster = await StartTwoSilosAsync();
        var persisted = (await cluster.Client.ReadProbeAsync(cluster.KeyOnVictim, TestContext.Current.CancellationToken)).Count;

        cluster.Victim.Kill();
        var statuses = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await cluster.Survivor.GetAsync($"/api/v1/cluster/probes/{cluster.KeyOnVictim}");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var reading = await response.Content.ReadFromJsonAsync<ProbeReading>(TestContext.Current.CancellationToken);
                Assert.Equal(persisted, reading!.Count);
                break;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(response.Headers.RetryAfter);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.OK, statuses[^1]);
        // The silo was killed without leaving: until the cluster declares it dead (about 10 s), its grain cannot answer, and
        // those answers must have been 503s (each checked above). Had the first poll succeeded, nothing would be tested.
        var unavailable = statuses.Count(s => s == HttpStatusCode.ServiceUnavailable);
        TestContext.Current.TestOutputHelper?.WriteLine($"{unavailable} answers of 503 before the grain was back");
        Assert.True(unavailable > 0, "the grain answered at once after its silo was killed: the failover window was not exercised");
    }

    [Fact]
    public async Task A_silo_joining_does_not_postpone_the_clusters_reminders()
    {
        // A service of its own: reminders are stored per service, and other tests' clusters share this database.
        var settings = new Dictionary<string, string> { ["Phantom__Silo__ServiceId"] = $"reminders-{Guid.NewGuid():N}" };
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, Databases, settings: settings);
        await first.WaitUntilReadyAsync();
        var registered = await PollRemindersAsync(settings["Phantom__Silo__ServiceId"], expected: 5);

        // Every silo makes sure the reminders exist as it starts; doing so again used to restart (postpone) each of them.
        await using var second = await SiloProcess.StartAsync(clusterId, Databases, settings: settings);
        await second.WaitUntilReadyAsync();
        await Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken); // its maintenance start runs once the host has started
        var after = await PollRemindersAsync(settings["Phantom__Silo__ServiceId"], expected: 5);
        Assert.Equal(registered, after);
    }

    /// <summary>The service's reminders as name, start time and version, once <paramref name="expected"/> of them exist.</summary>
    private async Task<List<string>> PollRemindersAsync(string serviceId, int expected)
    {
        for (var attempt = 0; ; attempt++)
        {
            var rows = await TenantSql.InTransactionAsync(Databases.OwnerSource, tenant: null, async (connection, transaction) =>
            {
                await using var command = new Npgsql.NpgsqlCommand(
                    "SELECT remindername || '@' || starttime::text || '#' || version FROM orleansreminderstable WHERE serviceid = @service ORDER BY remindername",
                    connection, transaction);
                command.Parameters.AddWithValue("service", serviceId);
                var found = new List<string>();
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    found.Add(reader.GetString(0));
                }

                return found;
            });
            if (rows.Count >= expected || attempt > 100)
            {
                Assert.Equal(expected, rows.Count);
                return rows;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Two ready silos, a client, and a persisted probe grain that lives on the second silo (the victim).</summary>
    private async Task<TwoSilos> StartTwoSilosAsync()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        var survivor = await StartReadySiloAsync(clusterId);
        var victim = await StartReadySiloAsync(clusterId);
        var client = await ConnectAsync(clusterId, survivor);
        var readings = await TouchUntilBothSilosHostAsync(client, survivor, victim);
        return new TwoSilos(survivor, victim, client, readings.First(r => r.Silo.StartsWith(SiloPrefix(victim), StringComparison.Ordinal)).Key);
    }

    private async Task<SiloProcess> StartReadySiloAsync(string clusterId, SiloEndpoints? endpoints = null)
    {
        var silo = await SiloProcess.StartAsync(clusterId, Databases, endpoints: endpoints);
        await silo.WaitUntilReadyAsync();
        return silo;
    }

    /// <summary>
    /// An SDK client of the cluster, as the platform admin of <paramref name="silo"/> (probes are for cluster operators),
    /// with the SDK's own defaults: a call that the killed silo swallowed times out after the default 10 s and is sent
    /// again, and one that a survivor cancels because it could not place it in time is retried too.
    /// </summary>
    private Task<PhantomClient> ConnectAsync(string clusterId, SiloProcess silo) =>
        PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = Databases.Membership, ClusterId = clusterId, ApiKey = silo.AdminKey,
        }, TestContext.Current.CancellationToken);

    /// <summary>Touches fresh probe keys until each silo hosts at least one; placement is random, so this ends quickly.</summary>
    private static async Task<List<ProbeReading>> TouchUntilBothSilosHostAsync(PhantomClient client, SiloProcess a, SiloProcess b)
    {
        var readings = new List<ProbeReading>();
        for (var i = 0; i < 200; i++)
        {
            readings.Add(await client.TouchProbeAsync($"spread-{Guid.NewGuid():N}", TestContext.Current.CancellationToken));
            if (Hosts(readings, a) && Hosts(readings, b))
            {
                return readings;
            }
        }

        throw new InvalidOperationException("200 grains were all placed on one silo");
    }

    private static bool Hosts(List<ProbeReading> readings, SiloProcess silo) =>
        readings.Any(r => r.Silo.StartsWith(SiloPrefix(silo), StringComparison.Ordinal));

    private static string SiloPrefix(SiloProcess silo) => $"127.0.0.1:{silo.Endpoints.SiloPort}@";

    private sealed record TwoSilos(SiloProcess Survivor, SiloProcess Victim, PhantomClient Client, string KeyOnVictim) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Victim.DisposeAsync();
            await Survivor.DisposeAsync();
        }
    }

    private sealed record SiloView(string Address, string Name, string Status);
}
