using System.Text.Json.Nodes;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// One type of agent: what it needs to be allowed, what a valid config is, and the work of one attempt. An action is
/// given its settings (the agent version's config, overlaid by the execution's context) and works in the tenant of
/// the execution only: the tenant key comes from the execution's grain key, never from the settings.
/// </summary>
public interface IAgentAction
{
    /// <summary>The agent_type value.</summary>
    string Type { get; }

    /// <summary>The permission a caller needs, besides <c>agents:run</c>, to define or start an agent of this type (null: none).</summary>
    string? RequiredPermission { get; }

    /// <summary>Checks a config (or an execution's settings) and throws 400 naming the member that is wrong.</summary>
    void Validate(AgentSettings settings);

    /// <summary>Runs one attempt.</summary>
    Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken);
}

/// <summary>What an attempt is given.</summary>
public sealed record AgentRun(string TenantKey, Guid TenantId, Guid ExecutionId, int Attempt, AgentSettings Settings, ExecutionLog Log);

/// <summary>How an attempt ended.</summary>
public abstract record AgentOutcome
{
    /// <summary>Done; <paramref name="Output"/> is a JSON object passed to later workflow steps.</summary>
    public sealed record Completed(JsonObject Output) : AgentOutcome;

    /// <summary>Failed; retried (with backoff, up to max_retries) when <paramref name="Retryable"/>.</summary>
    public sealed record Failed(string Error, bool Retryable) : AgentOutcome;

    /// <summary>Waits for something outside the platform (a person's approval) until the execution's deadline.</summary>
    public sealed record Waiting(string For) : AgentOutcome;
}

/// <summary>An attempt cannot succeed, or cannot succeed now; thrown by actions, turned into <see cref="AgentOutcome.Failed"/>.</summary>
public sealed class AgentFailure(string message, bool retryable, int? status = null) : Exception(message)
{
    /// <summary>Whether another attempt may succeed.</summary>
    public bool Retryable { get; } = retryable;

    /// <summary>The platform's answer when a call to it failed (404, 409...).</summary>
    public int? Status { get; } = status;
}
