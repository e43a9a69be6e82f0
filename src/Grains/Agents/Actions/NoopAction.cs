namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Does nothing but what its settings say, for tests, demos and benchmarks: waits <c>sleepMs</c>, fails its first
/// <c>failAttempts</c> attempts (retryably), or fails for good with <c>fatal</c>; its output echoes <c>output</c>.
/// </summary>
public sealed class NoopAction(TimeProvider time) : IAgentAction
{
    /// <inheritdoc />
    public string Type => "noop";

    /// <inheritdoc />
    public string? RequiredPermission => null;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        settings.OptionalInteger("sleepMs", 0, 3_600_000);
        settings.OptionalInteger("failAttempts", 0, 100);
        settings.OptionalBoolean("fatal");
        settings.OptionalObject("output");
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        if (settings.OptionalInteger("sleepMs", 0, 3_600_000) is { } sleep and > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(sleep), time, cancellationToken);
        }

        if (settings.OptionalBoolean("fatal") == true)
        {
            return new AgentOutcome.Failed("Told to fail (fatal).", Retryable: false);
        }

        if (run.Attempt <= (settings.OptionalInteger("failAttempts", 0, 100) ?? 0))
        {
            run.Log.Warning("Failing as told", new { run.Attempt });
            return new AgentOutcome.Failed($"Told to fail attempt {run.Attempt}.", Retryable: true);
        }

        var output = settings.OptionalObject("output")?.DeepClone().AsObject() ?? [];
        output["attempt"] = run.Attempt;
        return new AgentOutcome.Completed(output);
    }
}
