namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Waits for a person holding <c>agents:approve</c> to approve or reject through the API, until the execution's
/// timeout (its waiting time; a wait that runs out ends timed_out, it is not retried). Rejection fails the execution,
/// and with it the workflow run. <c>message</c> says what is to be approved.
/// </summary>
public sealed class ApprovalAction : IAgentAction
{
    /// <summary>The agent type.</summary>
    public const string TypeName = "approval";

    /// <inheritdoc />
    public string Type => TypeName;

    /// <inheritdoc />
    public string? RequiredPermission => null;

    /// <inheritdoc />
    public void Validate(AgentSettings settings) => settings.OptionalString("message", 2000);

    /// <inheritdoc />
    public Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        run.Log.Info("Waiting for approval", new { message = run.Settings.OptionalString("message", 2000) });
        return Task.FromResult<AgentOutcome>(new AgentOutcome.Waiting("approval"));
    }
}
