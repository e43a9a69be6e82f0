using System.Net;
using System.Text;
using System.Text.Json;
using PhantomMl.Client;
using PhantomMl.Grains.Agents;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Agents;

/// <summary>
/// Agents and their executions through the HTTP API of a real silo: versions, retries, timeouts, cancellation,
/// approvals, webhooks, logs, quotas, bad input and other tenants.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class AgentExecutionTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task A_config_change_adds_a_version_and_an_execution_keeps_the_version_it_started_with()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-versions");
        var v1 = await platform.DefineAgentAsync(tenant, key, "gate", new { agentType = "approval", config = new { message = "first" }, timeoutMs = 600_000 });
        Assert.Equal("1", v1.GetProperty("version").GetString());
        // The same definition again adds nothing.
        var same = await platform.DefineAgentAsync(tenant, key, "gate", new { agentType = "approval", config = new { message = "first" }, timeoutMs = 600_000 });
        Assert.Equal(v1.GetProperty("id").GetString(), same.GetProperty("id").GetString());

        var waiting = await platform.StartAsync(tenant, key, "gate");
        var path = AgentTestKit.ExecutionPath(tenant, waiting);
        await platform.WaitForAsync(path, key, e => e.GetProperty("waitingFor").GetString() == "approval", "the approval wait");

        var v2 = await platform.DefineAgentAsync(tenant, key, "gate", new { config = new { message = "second" }, maxRetries = 0 });
        Assert.Equal(("2", "approval", 600_000, 0), (v2.GetProperty("version").GetString(), v2.GetProperty("agentType").GetString(),
            v2.GetProperty("timeoutMs").GetInt32(), v2.GetProperty("maxRetries").GetInt32()));
        var versions = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agents/gate/versions", key);
        Assert.Equal(["2", "1"], versions.EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        var old = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agents/gate?version=1", key);
        Assert.Contains("first", old.GetProperty("config").GetString());

        var approved = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/approve", key, new { comment = "ok" });
        Assert.Equal(("completed", "1"), (approved.Status(), approved.GetProperty("agentVersion").GetString()));
        var newer = await platform.StartAsync(tenant, key, "gate");
        Assert.Equal("2", newer.GetProperty("agentVersion").GetString());
        var pinned = await platform.StartAsync(tenant, key, "gate", version: "1");
        Assert.Equal("1", pinned.GetProperty("agentVersion").GetString());

        // Disabled: no new executions; the waiting ones stay.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/disable", key);
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/executions", key, new { });
        Assert.Equal("running", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, AgentTestKit.ExecutionPath(tenant, newer), key)).Status());
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/enable", key);
        await platform.StartAsync(tenant, key, "gate");
    }

    [Fact]
    public async Task Retryable_failures_are_retried_up_to_max_retries_and_fatal_ones_fail_at_once()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-retries");
        await platform.DefineAgentAsync(tenant, key, "flaky", new { agentType = "noop", maxRetries = 2, config = new { output = new { done = true } } });

        var recovers = await platform.StartAsync(tenant, key, "flaky", new { failAttempts = 2 });
        var completed = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, recovers), key, "completed");
        Assert.Equal(3, completed.GetProperty("attempt").GetInt32());
        using (var result = JsonDocument.Parse(completed.GetProperty("resultSummary").GetString()!))
        {
            Assert.True(result.RootElement.GetProperty("done").GetBoolean());
            Assert.Equal(3, result.RootElement.GetProperty("attempt").GetInt32());
        }

        var exhausts = await platform.StartAsync(tenant, key, "flaky", new { failAttempts = 5 });
        var failed = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, exhausts), key, "failed");
        Assert.Equal(3, failed.GetProperty("attempt").GetInt32());
        Assert.Contains("Told to fail attempt 3", failed.GetProperty("errorDetails").GetString());

        var fatal = await platform.StartAsync(tenant, key, "flaky", new { fatal = true });
        var once = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, fatal), key, "failed");
        Assert.Equal(1, once.GetProperty("attempt").GetInt32());

        // Every move has its audit row, written by the executor in the move's transaction.
        var audit = await platform.AuditAsync(tenant);
        var moves = audit.Where(row => row.GetProperty("resourceId").GetString() == recovers.GetProperty("id").GetString()
            && row.GetProperty("eventType").GetString() == "agent_execution").Select(row => row.GetProperty("action").GetString()).ToList();
        Assert.Equal(["start", "attempt", "retry", "attempt", "retry", "attempt", "complete"], moves.AsEnumerable().Reverse());
    }

    [Fact]
    public async Task An_attempt_past_its_timeout_is_stopped_and_the_execution_ends_timed_out_and_a_cancel_stops_a_running_one()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-timeout");
        await platform.DefineAgentAsync(tenant, key, "slow", new { agentType = "noop", timeoutMs = 300, maxRetries = 1, config = new { sleepMs = 60_000 } });
        var slow = await platform.StartAsync(tenant, key, "slow");
        var timedOut = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, slow), key, "timed_out", 30);
        Assert.Equal(2, timedOut.GetProperty("attempt").GetInt32());
        Assert.InRange(timedOut.GetProperty("executionTimeMs").GetInt32(), 600, 20_000);

        await platform.DefineAgentAsync(tenant, key, "long", new { agentType = "noop", timeoutMs = 600_000, config = new { sleepMs = 600_000 } });
        var running = await platform.StartAsync(tenant, key, "long");
        var path = AgentTestKit.ExecutionPath(tenant, running);
        await platform.WaitForStatusAsync(path, key, "running");
        var cancelled = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/cancel", key, new { reason = "not needed" });
        Assert.Equal("cancelled", cancelled.Status());
        Assert.Contains("not needed", cancelled.GetProperty("errorDetails").GetString());
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/cancel", key);
        // A cancelled execution gives its concurrency slot back: the usage counter is at zero again.
        var quotas = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key);
        Assert.Equal(0, quotas.EnumerateArray().Single(q => q.GetProperty("resource").GetString() == "concurrent_agent_executions")
            .GetProperty("used").GetInt64());
    }

    [Fact]
    public async Task Only_a_holder_of_agents_approve_decides_and_a_rejection_fails_the_execution()
    {
        var (tenant, admin) = await platform.CreateTenantWithAdminAsync("agent-approval");
        var engineer = await platform.AddUserWithKeyAsync(tenant, "eve", ["ml-engineer"]);
        var viewer = await platform.AddUserWithKeyAsync(tenant, "val", ["viewer"]);
        await platform.DefineAgentAsync(tenant, engineer, "gate", new { agentType = "approval", timeoutMs = 600_000 });
        var waiting = await platform.StartAsync(tenant, engineer, "gate");
        var path = AgentTestKit.ExecutionPath(tenant, waiting);
        await platform.WaitForAsync(path, engineer, e => e.GetProperty("waitingFor").GetString() == "approval", "the approval wait");

        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"{path}/approve", engineer);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"{path}/approve", viewer);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/executions", viewer, new { });
        Assert.Equal("running", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, viewer)).Status());

        var rejected = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/reject", admin, new { comment = "not now" });
        Assert.Equal("failed", rejected.Status());
        using var decision = JsonDocument.Parse(rejected.GetProperty("errorDetails").GetString()!);
        Assert.Equal((false, "admin", "not now"), (decision.RootElement.GetProperty("approved").GetBoolean(),
            decision.RootElement.GetProperty("by").GetString(), decision.RootElement.GetProperty("comment").GetString()));
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/approve", admin);

        // A wait that runs out ends timed_out (found by the sweep once the deadline passed).
        await platform.DefineAgentAsync(tenant, admin, "brief", new { agentType = "approval", timeoutMs = 200 });
        var brief = await platform.StartAsync(tenant, admin, "brief");
        var briefPath = AgentTestKit.ExecutionPath(tenant, brief);
        await platform.WaitForAsync(briefPath, admin, e => e.GetProperty("waitingFor").GetString() == "approval", "the short wait");
        await Task.Delay(300, TestContext.Current.CancellationToken);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/maintenance/agent-sweep");
        Assert.Equal("timed_out", (await platform.WaitForStatusAsync(briefPath, admin, "timed_out")).Status());
    }

    [Fact]
    public async Task A_webhook_calls_only_allow_listed_hosts_and_delivers_its_body()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-webhook");
        await using var listener = await WebhookListener.StartAsync();
        await platform.DefineAgentAsync(tenant, key, "notify", new { agentType = "webhook", maxRetries = 0, config = new { url = listener.Url, body = new { text = "model v3 promoted" } } });

        var refused = await platform.StartAsync(tenant, key, "notify");
        var failed = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, refused), key, "failed");
        Assert.Contains("not on the tenant's webhook allow-list", failed.GetProperty("errorDetails").GetString());
        Assert.Empty(listener.Received);

        var engineer = await platform.AddUserWithKeyAsync(tenant, "eve", ["ml-engineer"]);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agent-webhook-hosts", engineer, new { hosts = new[] { "127.0.0.1" } });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agent-webhook-hosts", key, new { hosts = new[] { "http://x/y" } });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agent-webhook-hosts", key, new { hosts = new[] { "127.0.0.1" } });

        var sent = await platform.StartAsync(tenant, key, "notify");
        var completed = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, sent), key, "completed");
        var request = Assert.Single(listener.Received);
        Assert.Equal("model v3 promoted", JsonDocument.Parse(request.Body).RootElement.GetProperty("text").GetString());
        Assert.Equal(sent.GetProperty("id").GetString(), request.ExecutionHeader);
        Assert.Contains("\"status\": 200", completed.GetProperty("resultSummary").GetString());

        // A 5xx answer is retried; a 4xx is final.
        listener.Answer = HttpStatusCode.BadRequest;
        var bad = await platform.StartAsync(tenant, key, "notify");
        Assert.Contains("answered 400", (await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, bad), key, "failed"))
            .GetProperty("errorDetails").GetString());
        await platform.DefineAgentAsync(tenant, key, "notify", new { maxRetries = 1 });
        listener.Answer = HttpStatusCode.ServiceUnavailable;
        var retried = await platform.StartAsync(tenant, key, "notify");
        Assert.Equal(2, (await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, retried), key, "failed")).GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Logs_page_without_gaps_filter_by_level_and_stay_in_their_tenant()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-logs");
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("agent-logs-other");
        await platform.DefineAgentAsync(tenant, key, "flaky", new { agentType = "noop", maxRetries = 3 });
        var execution = await platform.StartAsync(tenant, key, "flaky", new { failAttempts = 3 });
        var path = AgentTestKit.ExecutionPath(tenant, execution);
        await platform.WaitForStatusAsync(path, key, "completed");

        var all = new List<JsonElement>();
        long? after = null;
        do
        {
            var page = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/logs?limit=2" + (after is null ? "" : $"&after={after}"), key);
            all.AddRange(page.GetProperty("entries").EnumerateArray());
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetInt64();
        }
        while (after is not null);
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal(4, all.Count(e => e.GetProperty("message").GetString()!.StartsWith("Attempt", StringComparison.Ordinal)
            && e.GetProperty("message").GetString()!.EndsWith("started", StringComparison.Ordinal)));

        var warnings = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/logs?level=warning", key);
        Assert.All(warnings.GetProperty("entries").EnumerateArray(), e => Assert.Contains(e.GetProperty("level").GetString(), new[] { "warning", "error" }));
        Assert.Equal(6, warnings.GetProperty("entries").GetArrayLength()); // "failing as told" and "retrying", three times

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{other}/agent-executions/{execution.GetProperty("id").GetString()}/logs", otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{path}/logs", otherKey);
    }

    [Fact]
    public async Task Concurrency_and_payload_quotas_are_admitted_before_anything_starts()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-quotas", new { concurrent_agent_executions = 2, agent_payload_bytes = 1024 });
        await platform.DefineAgentAsync(tenant, key, "gate", new { agentType = "approval", timeoutMs = 600_000 });
        var first = await platform.StartAsync(tenant, key, "gate");
        await platform.StartAsync(tenant, key, "gate");
        var refused = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/executions", key, new { });
        Assert.Equal("concurrent_agent_executions", refused.GetProperty("quota").GetString());

        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{AgentTestKit.ExecutionPath(tenant, first)}/cancel", key);
        await platform.StartAsync(tenant, key, "gate");

        await platform.ExpectAsync(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/gate/executions", key,
            new { context = new { blob = new string('x', 2000) } });
        var executions = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions", key);
        Assert.Equal(3, executions.GetArrayLength());
    }

    [Fact]
    public async Task Bad_input_unknown_ids_and_other_tenants_get_clear_4xx_and_change_nothing()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-input");
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("agent-input-other");
        var viewer = await platform.AddUserWithKeyAsync(tenant, "val", ["viewer"]);
        var engineer = await platform.AddUserWithKeyAsync(tenant, "eve", ["ml-engineer"]);
        await platform.DefineAgentAsync(tenant, key, "echo", new { agentType = "noop" });
        var execution = await platform.StartAsync(tenant, key, "echo");
        var id = execution.GetProperty("id").GetString();

        var agents = $"/api/v1/tenants/{tenant}/agents";
        foreach (var (status, body) in new (HttpStatusCode, object)[]
        {
            (HttpStatusCode.BadRequest, "{not json"),
            (HttpStatusCode.BadRequest, new { agentType = "rocket" }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", timeoutMs = 0 }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", maxRetries = 99 }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", timeoutMs = "soon" }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", config = new[] { 1 } }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", config = new { sleepMs = -1 } }),
            (HttpStatusCode.BadRequest, new { agentType = "webhook", config = new { url = "file:///etc/passwd" } }),
            (HttpStatusCode.BadRequest, new { agentType = "noop", template = "noop@404" }),
        })
        {
            await platform.ExpectAsync(status, HttpMethod.Put, $"{agents}/fresh", key, body);
        }

        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{agents}/..%2Fescape", key, new { agentType = "noop" });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{agents}/fresh", key);
        // Promoting needs models:write; a viewer has neither that nor agents:run.
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Put, $"{agents}/promoter", viewer, new { agentType = "promote" });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{agents}/promoter", engineer, new { agentType = "promote" });
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, "/api/v1/agent-templates", key,
            new { agentType = "noop", version = "1", name = "n", config = new { } });

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{agents}/missing/executions", key, new { });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{agents}/echo/executions", key, new { context = "text" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{agents}/echo/executions", key, new { context = new { sleepMs = "x" } });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{Guid.NewGuid()}", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions?status=lost", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{id}/logs?limit=0", key);

        // Another tenant's key sees nothing of this tenant's agents, executions and runs.
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, $"{agents}/echo"), (HttpMethod.Get, $"{agents}"), (HttpMethod.Post, $"{agents}/echo/executions"),
            (HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{id}"), (HttpMethod.Post, $"/api/v1/tenants/{tenant}/agent-executions/{id}/cancel"),
            (HttpMethod.Get, $"/api/v1/tenants/{tenant}/workflow-runs"),
        })
        {
            await platform.ExpectAsync(HttpStatusCode.NotFound, method, path, otherKey, method == HttpMethod.Post ? new { } : null);
        }

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{other}/agent-executions/{id}", otherKey);
        var versions = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{agents}/echo/versions", key);
        Assert.Equal(1, versions.GetArrayLength());
    }

    [Fact]
    public async Task The_SDK_defines_runs_approves_and_reads_logs_and_cannot_reach_another_tenant()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-sdk");
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("agent-sdk-other");
        var token = TestContext.Current.CancellationToken;
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership, ClusterId = platform.ClusterId, ApiKey = key,
        }, token);
        await client.DefineAgentAsync(tenant, "echo", new DefineAgent("noop", Config: """{"output": {"via": "sdk"}}"""), token);
        await client.DefineAgentAsync(tenant, "gate", new DefineAgent("approval", TimeoutMs: 600_000), token);
        var workflow = await client.DefineWorkflowAsync(tenant, "pipeline", new DefineWorkflow("""
            {"steps": [{"name": "first", "agent": "echo"}, {"name": "ok", "agent": "gate", "dependsOn": ["first"]}]}
            """), token);
        Assert.Equal(1, workflow.Version);

        var execution = await client.StartExecutionAsync(tenant, new StartExecution("echo", """{"output": {"via": "sdk", "n": 1}}"""), token);
        var done = await WaitAsync(() => client.GetExecutionAsync(tenant, execution.Id, token), e => e.Status == "completed");
        Assert.Contains("\"n\": 1", done.ResultSummary);
        var logs = await client.ReadExecutionLogsAsync(tenant, execution.Id, "info", cancellationToken: token);
        Assert.Contains(logs.Entries, entry => entry.Message == "Attempt 1 started");

        var run = await client.StartWorkflowRunAsync(tenant, new StartWorkflowRun("pipeline"), token);
        var waiting = await WaitAsync(() => client.GetWorkflowRunAsync(tenant, run.Id, token), r => r.Steps[1].Executions.Count == 1);
        var approval = waiting.Steps[1].Executions[0];
        await WaitAsync(() => client.GetExecutionAsync(tenant, approval, token), e => e.WaitingFor == "approval");
        await client.DecideExecutionAsync(tenant, approval, approve: true, "fine", token);
        var completed = await WaitAsync(() => client.GetWorkflowRunAsync(tenant, run.Id, token), r => r.Status != "running");
        Assert.Equal("completed", completed.Status);
        Assert.Contains(await client.ListWorkflowRunsAsync(tenant, cancellationToken: token), r => r.Id == run.Id);
        Assert.Equal(["echo", "gate"], (await client.ListAgentsAsync(tenant, token)).Select(a => a.Name));

        await using var intruder = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership, ClusterId = platform.ClusterId, ApiKey = otherKey,
        }, token);
        Func<Task>[] attempts =
        [
            () => intruder.GetExecutionAsync(tenant, execution.Id, token),
            () => intruder.ReadExecutionLogsAsync(tenant, execution.Id, cancellationToken: token),
            () => intruder.CancelExecutionAsync(tenant, execution.Id, cancellationToken: token),
            () => intruder.StartExecutionAsync(tenant, new StartExecution("echo"), token),
            () => intruder.GetWorkflowRunAsync(tenant, run.Id, token),
            () => intruder.GetAgentAsync(tenant, "echo", cancellationToken: token),
            () => intruder.ListExecutionsAsync(tenant, cancellationToken: token),
        ];
        foreach (var attempt in attempts)
        {
            Assert.Equal(404, (await Assert.ThrowsAsync<PhantomException>(attempt)).Status);
        }

        Assert.Empty(await intruder.ListAgentsAsync(other, token));
    }

    private static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        var last = await read();
        while (!done(last))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"Waited 60 s; last seen: {last}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
            last = await read();
        }

        return last;
    }

    [Fact]
    public async Task Templates_are_platform_wide_and_agents_start_from_them()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("agent-templates");
        var version = $"t{Guid.NewGuid():N}"[..12];
        var template = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/v1/agent-templates", null,
            new { agentType = "noop", version, name = "Echo", config = new { output = new { from = "template" }, sleepMs = 1 }, timeoutMs = 5000, maxRetries = 1 });
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, "/api/v1/agent-templates", null,
            new { agentType = "noop", version, name = "Echo", config = new { } });
        var listed = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/agent-templates", key);
        Assert.Contains(listed.EnumerateArray(), t => t.GetProperty("id").GetString() == template.GetProperty("id").GetString());

        var agent = await platform.DefineAgentAsync(tenant, key, "from-template", new { template = $"noop@{version}", config = new { sleepMs = 2 } });
        Assert.Equal(($"noop@{version}", 5000, 1), (agent.GetProperty("template").GetString(), agent.GetProperty("timeoutMs").GetInt32(),
            agent.GetProperty("maxRetries").GetInt32()));
        using var config = JsonDocument.Parse(agent.GetProperty("config").GetString()!);
        Assert.Equal(("template", 2), (config.RootElement.GetProperty("output").GetProperty("from").GetString(),
            config.RootElement.GetProperty("sleepMs").GetInt32()));
        var done = await platform.WaitForStatusAsync(AgentTestKit.ExecutionPath(tenant, await platform.StartAsync(tenant, key, "from-template")), key, "completed");
        Assert.Contains("template", done.GetProperty("resultSummary").GetString());
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agents/wrong", key,
            new { agentType = "webhook", template = $"noop@{version}" });
    }
}

/// <summary>A loopback HTTP listener of the test process that records what webhooks send it.</summary>
internal sealed class WebhookListener : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;

    private WebhookListener(HttpListener listener, string url)
    {
        _listener = listener;
        Url = url;
        _loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public HttpStatusCode Answer { get; set; } = HttpStatusCode.OK;

    public List<(string Body, string? ExecutionHeader)> Received { get; } = [];

    public static Task<WebhookListener> StartAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 60_000);
            var url = $"http://127.0.0.1:{port}/hook/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            try
            {
                listener.Start();
                return Task.FromResult(new WebhookListener(listener, url));
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close();
            }
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            if (Answer == HttpStatusCode.OK)
            {
                lock (Received)
                {
                    Received.Add((body, context.Request.Headers["X-Phantom-Execution"]));
                }
            }

            context.Response.StatusCode = (int)Answer;
            var answer = Encoding.UTF8.GetBytes("""{"ok": true}""");
            await context.Response.OutputStream.WriteAsync(answer);
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
