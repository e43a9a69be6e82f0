using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Agents;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Cluster;

/// <summary>
/// A silo killed in the middle of an agent execution, or of a workflow run, leaves nothing stuck: the survivor's agent
/// sweep finds the lost attempt, retries it, and the run goes on.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class AgentFailoverTests(ClusterDatabasesFixture fixture)
{
    // Short heartbeats so the test does not wait minutes (the mechanism is the same at the defaults); and the
    // production default for webhooks, which refuses loopback addresses.
    private static Dictionary<string, string> ClusterSettings() => new()
    {
        ["Phantom__Agents__HeartbeatInterval"] = "00:00:01",
        ["Phantom__Agents__HeartbeatTimeout"] = "00:00:03",
        ["Phantom__Agents__AllowLoopbackWebhooks"] = "false",
    };

    [Fact]
    public async Task Executions_and_runs_whose_silo_dies_are_retried_on_the_survivor_and_finish()
    {
        var clusterId = ClusterDatabasesFixture.NewClusterId();
        await using var first = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: ClusterSettings());
        await using var second = await SiloProcess.StartAsync(clusterId, fixture.Databases, settings: ClusterSettings());
        await Task.WhenAll(first.WaitUntilReadyAsync(), second.WaitUntilReadyAsync());
        var api = new PlatformApi(first);
        var (tenant, key) = await api.CreateTenantWithAdminAsync("agent-failover", new { concurrent_workflow_runs = 100, concurrent_agent_executions = 200 });
        // Long enough that an execution found on the first silo is still running when the search for a run there ends and
        // the silo is killed: with 6 s, a slow search let it complete first (attempt 1), failing the test one run in many.
        await api.DefineAgentAsync(tenant, key, "sleeper", new { agentType = "noop", timeoutMs = 120_000, maxRetries = 2, config = new { sleepMs = 30_000 } });
        await api.DefineAgentAsync(tenant, key, "echo", new { agentType = "noop" });
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/workflows/two-steps", key, new
        {
            definition = new { steps = new object[] { new { name = "slow", agent = "sleeper" }, new { name = "then", agent = "echo", dependsOn = new[] { "slow" } } } },
        });

        // Executions and runs until the first silo runs one of each (placement is the cluster's choice).
        var victimPort = $":{first.Endpoints.SiloPort}:";
        string? execution = null, run = null, runExecution = null;
        var entries = new[] { api, new PlatformApi(second) };
        for (var round = 0; round < 20 && (execution is null || run is null); round++)
        {
            var entry = entries[round % 2]; // through either silo's front end: placement may favour the silo that is called
            foreach (var started in new[] { await entry.StartAsync(tenant, key, "sleeper"), await entry.StartAsync(tenant, key, "sleeper") })
            {
                var id = started.GetProperty("id").GetString()!;
                if (execution is null && (await RunnerOfAttemptAsync(api, tenant, key, id, 1)).Contains(victimPort, StringComparison.Ordinal))
                {
                    execution = id;
                }
            }

            var candidate = await entry.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/workflows/two-steps/runs", key, new { });
            var step = await api.WaitForAsync(AgentTestKit.RunPath(tenant, candidate), key,
                r => r.GetProperty("steps")[0].GetProperty("executions").GetArrayLength() == 1, "the first step to start");
            var stepExecution = step.GetProperty("steps")[0].GetProperty("executions")[0].GetString()!;
            if (run is null && (await RunnerOfAttemptAsync(api, tenant, key, stepExecution, 1)).Contains(victimPort, StringComparison.Ordinal))
            {
                (run, runExecution) = (candidate.GetProperty("id").GetString(), stepExecution);
            }
        }

        Assert.True(execution is not null && run is not null, "Nothing was placed on the first silo in 20 rounds.");
        Assert.Equal("running", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{execution}", key)).Status());
        first.Kill();

        // The sweep normally ticks every minute; an operator's "now" is the same pass.
        var survivor = new PlatformApi(second);
        var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
        JsonElement retried = default, finishedRun = default;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using (await second.SendAsync(HttpMethod.Post, "/api/v1/maintenance/agent-sweep", second.AdminKey))
            {
            }

            retried = await Read(survivor, $"/api/v1/tenants/{tenant}/agent-executions/{execution}", key);
            finishedRun = await Read(survivor, $"/api/v1/tenants/{tenant}/workflow-runs/{run}", key);
            if (retried.ValueKind == JsonValueKind.Object && retried.Status() == "completed"
                && finishedRun.ValueKind == JsonValueKind.Object && finishedRun.Status() == "completed")
            {
                break;
            }

            await Task.Delay(500, TestContext.Current.CancellationToken);
        }

        Assert.Equal("completed", retried.Status());
        Assert.Equal(2, retried.GetProperty("attempt").GetInt32());
        Assert.Contains("was lost", retried.GetProperty("errorDetails").GetString());
        Assert.Contains($":{second.Endpoints.SiloPort}:", await RunnerOfAttemptAsync(survivor, tenant, key, execution!, 2));
        Assert.Equal("completed", finishedRun.Status());
        var lost = await survivor.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{runExecution}", key);
        Assert.Equal(2, lost.GetProperty("attempt").GetInt32());

        // Nothing is left open.
        var open = await survivor.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions?status=running", key);
        await survivor.WaitForAsync($"/api/v1/tenants/{tenant}/agent-executions?status=running", key, e => e.GetArrayLength() == 0,
            $"every execution to finish (running: {open})", 60);

        // With the production default, a webhook may not call loopback even when the tenant allow-lists it.
        await survivor.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agent-webhook-hosts", key, new { hosts = new[] { "127.0.0.1", "localhost" } });
        await survivor.DefineAgentAsync(tenant, key, "hook", new { agentType = "webhook", maxRetries = 0, config = new { url = $"{second.BaseAddress}health/live" } });
        var hook = await survivor.StartAsync(tenant, key, "hook");
        var refused = await survivor.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, hook), key, "failed");
        Assert.Contains("may not call", refused.GetProperty("errorDetails").GetString());
    }

    /// <summary>The silo an attempt started on, from its "Attempt n started" log entry (waits for it).</summary>
    private static async Task<string> RunnerOfAttemptAsync(PlatformApi api, string tenant, string key, string execution, int attempt)
    {
        var logs = await api.WaitForAsync($"/api/v1/tenants/{tenant}/agent-executions/{execution}/logs", key,
            page => page.GetProperty("entries").EnumerateArray().Any(e => e.GetProperty("message").GetString() == $"Attempt {attempt} started"),
            $"attempt {attempt} of {execution} to start", 60);
        var started = logs.GetProperty("entries").EnumerateArray().First(e => e.GetProperty("message").GetString() == $"Attempt {attempt} started");
        return JsonDocument.Parse(started.GetProperty("fields").GetString()!).RootElement.GetProperty("silo").GetString()!;
    }

    /// <summary>Reads through the survivor; 503 while the cluster notices the death is expected.</summary>
    private static async Task<JsonElement> Read(PlatformApi api, string path, string key)
    {
        using var response = await api.SendAsync(HttpMethod.Get, path, key);
        return response.StatusCode == HttpStatusCode.OK
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.Clone()
            : default;
    }
}
