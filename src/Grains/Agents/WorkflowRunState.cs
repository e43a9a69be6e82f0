using System.Text.Json;
using System.Text.Json.Nodes;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// A run's steps as stored in agent_workflow_runs.steps: per step, the agent version pinned when the run started, its
/// status, its executions and its output. Statuses: waiting, running, completed, skipped, failed, cancelled.
/// </summary>
public sealed class WorkflowRunState
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The steps in definition order.</summary>
    public List<StepState> Steps { get; init; } = [];

    /// <summary>Reads the stored JSON.</summary>
    public static WorkflowRunState Parse(string json) => JsonSerializer.Deserialize<WorkflowRunState>(json, Json) ?? new WorkflowRunState();

    /// <summary>The JSON to store.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>One step by name.</summary>
    public StepState this[string name] => Steps.Single(step => step.Name == name);

    /// <summary>The scope references are resolved in: the run's input and every step's status and output.</summary>
    public JsonObject Scope(string input)
    {
        var steps = new JsonObject();
        foreach (var step in Steps)
        {
            steps[step.Name] = new JsonObject { ["status"] = step.Status, ["output"] = step.Output is null ? null : JsonNode.Parse(step.Output) };
        }

        return new JsonObject { ["input"] = JsonNode.Parse(input), ["steps"] = steps };
    }

    /// <summary>The API's view of a run row.</summary>
    public static WorkflowRunView View(AgentSql.RunRow row) => new(row.Id, row.Workflow, row.Version, row.Status, row.Input,
        Parse(row.Steps).Steps.Select(step => new WorkflowStepView(step.Name, step.Agent, step.AgentVersion, step.Status, step.Executions,
            step.Output, step.Error)).ToList(),
        row.CreatedAt, row.StartedAt, row.CompletedAt, row.ErrorDetails, row.CreatedBy);

    /// <summary>One step's state.</summary>
    public sealed class StepState
    {
        public required string Name { get; init; }
        public required string Agent { get; init; }
        public required Guid AgentId { get; init; }
        public required string AgentVersion { get; init; }
        public string Status { get; set; } = "waiting";
        public List<Guid> Executions { get; set; } = [];
        public string? Output { get; set; }
        public string? Error { get; set; }
        public bool FanOut { get; set; }

        /// <summary>Whether the step is over (its dependents may start, or the run stops).</summary>
        public bool Finished => Status is "completed" or "skipped" or "failed" or "cancelled";
    }
}
