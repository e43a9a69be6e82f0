using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Agents;

/// <summary>Shared steps of the agent tests: defining agents, starting executions and runs, and waiting on their state.</summary>
internal static class AgentTestKit
{
    public static Task<JsonElement> DefineAgentAsync(this PlatformApi api, string tenant, string key, string name, object definition) =>
        api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/agents/{name}", key, definition);

    public static Task<JsonElement> StartAsync(this PlatformApi api, string tenant, string key, string agent, object? context = null,
        string? version = null) =>
        api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/agents/{agent}/executions", key,
            new { context, version });

    public static string ExecutionPath(string tenant, JsonElement execution) =>
        $"/api/v1/tenants/{tenant}/agent-executions/{execution.GetProperty("id").GetString()}";

    public static string RunPath(string tenant, JsonElement run) => $"/api/v1/tenants/{tenant}/workflow-runs/{run.GetProperty("id").GetString()}";

    /// <summary>Reads <paramref name="path"/> until <paramref name="done"/> holds (at most <paramref name="seconds"/>).</summary>
    public static async Task<JsonElement> WaitForAsync(this PlatformApi api, string path, string key, Func<JsonElement, bool> done, string what,
        int seconds = 60)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        var last = default(JsonElement);
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Waited {seconds} s for {what}; last seen: {last}");
        return last;
    }

    public static Task<JsonElement> WaitForStatusAsync(this PlatformApi api, string path, string key, string status, int seconds = 60) =>
        api.WaitForAsync(path, key, found => found.GetProperty("status").GetString() == status, $"status {status} at {path}", seconds);

    public static string Status(this JsonElement element) => element.GetProperty("status").GetString()!;
}
