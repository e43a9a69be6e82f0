using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Agents;

/// <summary>Workflow runs through the HTTP API: train → evaluate → approval → promote on the sample dataset, fan-out,
/// conditions, cancellation, pinned definitions, quotas and other tenants.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class WorkflowRunTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private static readonly object Retrain = new
    {
        steps = new object[]
        {
            new { name = "train", agent = "trainer" },
            new { name = "evaluate", agent = "evaluator", dependsOn = new[] { "train" }, with = new { version = "${steps.train.output.version}" } },
            new
            {
                name = "approve", agent = "approver", dependsOn = new[] { "evaluate" },
                when = new { path = "steps.evaluate.output.passed", equals = true },
            },
            new
            {
                name = "promote", agent = "promoter", dependsOn = new[] { "approve" },
                with = new { version = "${steps.train.output.version}", alias = "${input.alias}" },
            },
        },
    };

    [Fact]
    public async Task Train_evaluate_approve_promote_moves_the_alias_only_after_approval_and_a_rejection_stops_the_run()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("retrain");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn-data", modelType = "dataset", algorithm = "none" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/churn-data/versions", key, new { version = "1" });
        var csv = new ByteArrayContent(await SampleDatasets.GenerateAsync("binary", 3000));
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/churn-data/versions/1/artifact", key, csv);
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "churn", modelType = "classifier", algorithm = "fasttree" });

        await platform.DefineAgentAsync(tenant, key, "trainer", new
        {
            agentType = "train", timeoutMs = 300_000,
            config = new
            {
                modelName = "churn", datasetUri = "model://churn-data/versions/1",
                training = new { trainer = "builtin", task = "binary-classification", algorithm = "fasttree", rounds = 2 },
                hyperparameters = new { trees = 20 },
            },
        });
        await platform.DefineAgentAsync(tenant, key, "evaluator", new { agentType = "evaluate", config = new { model = "churn", metric = "accuracy", threshold = 0.8 } });
        await platform.DefineAgentAsync(tenant, key, "approver", new { agentType = "approval", timeoutMs = 600_000, config = new { message = "Promote the retrained model?" } });
        await platform.DefineAgentAsync(tenant, key, "promoter", new { agentType = "promote", config = new { model = "churn", require = new { accuracy = 0.8 } } });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/workflows/retrain", key, new { definition = Retrain });

        // First run: rejected. Nothing is promoted and the run stops at the approval.
        var rejectedRun = await StartRunAsync(tenant, key, "retrain", new { alias = "production" });
        var approval = await WaitForApprovalAsync(tenant, key, rejectedRun);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agent-executions/{approval}/reject", key, new { comment = "not yet" });
        var rejected = await platform.WaitForStatusAsync(AgentTestKit.RunPath(tenant, rejectedRun), key, "failed");
        var steps = Steps(rejected);
        Assert.Equal(("completed", "completed", "failed", "waiting"), (steps["train"].Status(), steps["evaluate"].Status(), steps["approve"].Status(),
            steps["promote"].Status()));
        Assert.Empty(steps["promote"].GetProperty("executions").EnumerateArray());
        Assert.Contains("approve", rejected.GetProperty("errorDetails").GetString());
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn", key);
        Assert.False(model.GetProperty("aliases").TryGetProperty("production", out _));

        // Second run: while it waits for approval its definition changes; the run keeps the version it started with.
        var run = await StartRunAsync(tenant, key, "retrain", new { alias = "production" });
        var secondApproval = await WaitForApprovalAsync(tenant, key, run);
        var trained = Steps(await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, AgentTestKit.RunPath(tenant, run), key));
        var version = JsonDocument.Parse(trained["train"].GetProperty("output").GetString()!).RootElement.GetProperty("version").GetString()!;
        using (var evaluation = JsonDocument.Parse(trained["evaluate"].GetProperty("output").GetString()!))
        {
            Assert.True(evaluation.RootElement.GetProperty("passed").GetBoolean());
            Assert.Equal(version, evaluation.RootElement.GetProperty("version").GetString());
        }

        var changed = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/workflows/retrain", key,
            new { definition = new { steps = new object[] { new { name = "only", agent = "evaluator" } } } });
        Assert.Equal(2, changed.GetProperty("version").GetInt32());
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn", key);
        Assert.False(model.GetProperty("aliases").TryGetProperty("production", out _)); // not before approval

        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agent-executions/{secondApproval}/approve", key, new { comment = "ship it" });
        var completed = await platform.WaitForStatusAsync(AgentTestKit.RunPath(tenant, run), key, "completed", 120);
        Assert.Equal(1, completed.GetProperty("workflowVersion").GetInt32());
        Assert.All(Steps(completed).Values, step => Assert.Equal("completed", step.Status()));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn", key);
        Assert.Equal(version, model.GetProperty("aliases").GetProperty("production").GetString());

        // Every step ran as the agent component, audited in the tenant.
        var audit = await platform.AuditAsync(tenant);
        Assert.Contains(audit, row => row.GetProperty("userId").GetString() == "system:agent" && row.GetProperty("action").GetString() == "set-alias");
        Assert.Contains(audit, row => row.GetProperty("resourceType").GetString() == "workflow_run" && row.GetProperty("action").GetString() == "complete");

        // The agent's promotion is in the lineage: the alias came from the trained version, by the agent.
        var promoted = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
            $"/api/v1/tenants/{tenant}/lineage?resourceType=alias&resourceId={Uri.EscapeDataString("churn/aliases/production")}", key);
        var link = Assert.Single(promoted.GetProperty("links").EnumerateArray(), l => l.GetProperty("depth").GetInt32() == 1);
        Assert.Equal(($"churn/versions/{version}", "promoted", "system:agent"),
            (link.GetProperty("parentId").GetString(), link.GetProperty("transformation").GetString(), link.GetProperty("createdBy").GetString()));
    }

    [Fact]
    public async Task Fan_out_passes_outputs_on_conditions_skip_steps_and_cancelling_a_run_stops_its_running_steps()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("fanout");
        await platform.DefineAgentAsync(tenant, key, "echo", new { agentType = "noop" });
        await platform.DefineAgentAsync(tenant, key, "sleeper", new { agentType = "noop", timeoutMs = 600_000, config = new { sleepMs = 600_000 } });
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/workflows/fan", key, new
        {
            definition = new
            {
                steps = new object[]
                {
                    new { name = "list", agent = "echo", with = new { output = new { items = new[] { "a", "b", "c" } } } },
                    new { name = "each", agent = "echo", dependsOn = new[] { "list" }, forEach = "${steps.list.output.items}", with = new { output = new { got = "${item}", n = "${index}" } } },
                    new { name = "never", agent = "echo", dependsOn = new[] { "list" }, when = new { path = "input.go", equals = true } },
                    new { name = "after", agent = "echo", dependsOn = new[] { "each", "never" }, with = new { output = new { second = "${steps.each.output.1.got}" } } },
                },
            },
        });
        var run = await StartRunAsync(tenant, key, "fan", new { go = false });
        var done = await platform.WaitForStatusAsync(AgentTestKit.RunPath(tenant, run), key, "completed");
        var steps = Steps(done);
        Assert.Equal("skipped", steps["never"].Status());
        Assert.Equal(3, steps["each"].GetProperty("executions").GetArrayLength());
        using (var each = JsonDocument.Parse(steps["each"].GetProperty("output").GetString()!))
        {
            Assert.Equal(["a", "b", "c"], each.RootElement.EnumerateArray().Select(o => o.GetProperty("got").GetString()));
            Assert.Equal([0, 1, 2], each.RootElement.EnumerateArray().Select(o => o.GetProperty("n").GetInt32()));
        }

        Assert.Contains("\"second\":\"b\"", steps["after"].GetProperty("output").GetString()!.Replace(" ", ""));

        // Cancelling a run cancels the executions still going.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/workflows/slow", key, new
        {
            definition = new { steps = new object[] { new { name = "wait", agent = "sleeper", forEach = "${input.items}" } } },
        });
        var slow = await StartRunAsync(tenant, key, "slow", new { items = new[] { 1, 2 } });
        var running = await platform.WaitForAsync(AgentTestKit.RunPath(tenant, slow), key,
            r => Steps(r)["wait"].GetProperty("executions").GetArrayLength() == 2, "the fan-out to start");
        var executions = Steps(running)["wait"].GetProperty("executions").EnumerateArray().Select(e => e.GetString()).ToList();
        foreach (var execution in executions)
        {
            await platform.WaitForStatusAsync($"/api/v1/tenants/{tenant}/agent-executions/{execution}", key, "running");
        }

        var cancelled = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{AgentTestKit.RunPath(tenant, slow)}/cancel", key, new { reason = "enough" });
        Assert.Equal("cancelled", cancelled.Status());
        foreach (var execution in executions)
        {
            Assert.Equal("cancelled", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/agent-executions/{execution}", key)).Status());
        }

        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{AgentTestKit.RunPath(tenant, slow)}/cancel", key);
        var quotas = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key);
        Assert.All(quotas.EnumerateArray().Where(q => q.GetProperty("resource").GetString() is "concurrent_agent_executions" or "concurrent_workflow_runs"),
            q => Assert.Equal(0, q.GetProperty("used").GetInt64()));
    }

    [Fact]
    public async Task Run_limits_bad_definitions_unknown_ids_and_other_tenants_are_refused()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("runlimits", new { concurrent_workflow_runs = 1, workflow_run_executions = 2 });
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("runlimits-other");
        await platform.DefineAgentAsync(tenant, key, "echo", new { agentType = "noop" });
        await platform.DefineAgentAsync(tenant, key, "gate", new { agentType = "approval", timeoutMs = 600_000 });
        var workflows = $"/api/v1/tenants/{tenant}/workflows";
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{workflows}/bad", key, new { definition = new { steps = new[] { new { name = "a" } } } });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{workflows}/bad", key, "{\"definition\": ");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{workflows}/bad", key);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{workflows}/ghost", key, new { definition = new { steps = new[] { new { name = "a", agent = "nobody" } } } });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{workflows}/ghost/runs", key, new { });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{workflows}/missing/runs", key, new { });

        // Fan-out past workflow_run_executions fails the run, naming the quota; nothing beyond the limit started.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{workflows}/wide", key, new
        {
            definition = new { steps = new object[] { new { name = "each", agent = "echo", forEach = "${input.items}" } } },
        });
        var wide = await StartRunAsync(tenant, key, "wide", new { items = new[] { 1, 2, 3 } });
        var failed = await platform.WaitForStatusAsync(AgentTestKit.RunPath(tenant, wide), key, "failed");
        Assert.Contains("workflow_run_executions", failed.GetProperty("errorDetails").GetString());
        Assert.Empty(Steps(failed)["each"].GetProperty("executions").EnumerateArray());

        // One run at a time for this tenant.
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{workflows}/held", key, new { definition = new { steps = new[] { new { name = "g", agent = "gate" } } } });
        var held = await StartRunAsync(tenant, key, "held", new { });
        var refused = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, $"{workflows}/held/runs", key, new { });
        Assert.Equal("concurrent_workflow_runs", refused.GetProperty("quota").GetString());

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, AgentTestKit.RunPath(tenant, held)), (HttpMethod.Post, $"{AgentTestKit.RunPath(tenant, held)}/cancel"),
            (HttpMethod.Get, $"{workflows}/held"), (HttpMethod.Post, $"{workflows}/held/runs"), (HttpMethod.Get, $"{workflows}"),
        })
        {
            await platform.ExpectAsync(HttpStatusCode.NotFound, method, path, otherKey, method == HttpMethod.Post ? new { } : null);
        }

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{other}/workflow-runs/{held.GetProperty("id").GetString()}", otherKey);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/workflow-runs/{Guid.NewGuid()}", key);
        Assert.Equal("running", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, AgentTestKit.RunPath(tenant, held), key)).Status());
    }

    private Task<JsonElement> StartRunAsync(string tenant, string key, string workflow, object input) =>
        platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/workflows/{workflow}/runs", key, new { input });

    private async Task<string> WaitForApprovalAsync(string tenant, string key, JsonElement run)
    {
        var waiting = await platform.WaitForAsync(AgentTestKit.RunPath(tenant, run), key,
            r => Steps(r)["approve"].Status() == "running" || r.Status() != "running", "the approval step", 180);
        Assert.Equal("running", waiting.Status());
        var execution = Steps(waiting)["approve"].GetProperty("executions")[0].GetString()!;
        await platform.WaitForAsync($"/api/v1/tenants/{tenant}/agent-executions/{execution}", key,
            e => e.GetProperty("waitingFor").GetString() == "approval", "the approval wait");
        return execution;
    }

    private static Dictionary<string, JsonElement> Steps(JsonElement run) =>
        run.GetProperty("steps").EnumerateArray().ToDictionary(step => step.GetProperty("name").GetString()!);
}
