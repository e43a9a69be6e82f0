using System.Text.Json.Nodes;
using PhantomMl.Grains.Agents.Actions;

namespace PhantomMl.Grains.Agents;

/// <summary>What comes after an attempt.</summary>
public abstract record AttemptDecision
{
    /// <summary>The execution completed with <paramref name="Output"/>.</summary>
    public sealed record Complete(JsonObject Output) : AttemptDecision;

    /// <summary>The execution waits (for approval) until its deadline.</summary>
    public sealed record Wait(string For) : AttemptDecision;

    /// <summary>Attempt <paramref name="NextAttempt"/> starts at <paramref name="At"/>.</summary>
    public sealed record Retry(int NextAttempt, DateTimeOffset At, string Error) : AttemptDecision;

    /// <summary>The execution ends <paramref name="Status"/> (failed or timed_out).</summary>
    public sealed record Fail(string Status, string Error) : AttemptDecision;

    /// <summary>The execution was cancelled while the attempt ran.</summary>
    public sealed record Cancelled : AttemptDecision;
}

/// <summary>
/// One attempt of an execution, timed by a <see cref="TimeProvider"/> (a fake one in tests): runs the action, stops it
/// at the timeout (an action that ignores its token is abandoned, not awaited), and decides from the outcome and the
/// retries left whether the execution completes, waits, is retried (when: <see cref="RetryPolicy"/>) or ends.
/// </summary>
public sealed class ExecutionDriver(TimeProvider time, RetryPolicy retries, Func<double> random)
{
    /// <summary>Runs attempt <paramref name="attempt"/> of an execution allowing <paramref name="maxRetries"/> retries.</summary>
    public async Task<AttemptDecision> RunAttemptAsync(int attempt, int maxRetries, TimeSpan timeout,
        Func<CancellationToken, Task<AgentOutcome>> work, CancellationToken cancelled)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancelled);
        AgentOutcome outcome;
        try
        {
            outcome = await work(linked.Token).WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested)
        {
            return new AttemptDecision.Cancelled();
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            outcome = new AgentOutcome.Failed($"Attempt {attempt} did not finish within {timeout.TotalMilliseconds:0} ms.", Retryable: true);
            return Decide(attempt, maxRetries, outcome, timedOut: true);
        }
        catch (AgentFailure e)
        {
            outcome = new AgentOutcome.Failed(e.Message, e.Retryable);
        }
        catch (PhantomException e)
        {
            outcome = new AgentOutcome.Failed($"{e.Title}: {e.Detail}", PlatformCalls.Retryable(e.Status));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything unexpected (a network error, a bug in a dependency) may pass on another attempt.
            outcome = new AgentOutcome.Failed($"{e.GetType().Name}: {e.Message}", Retryable: true);
        }

        return Decide(attempt, maxRetries, outcome, timedOut: false);
    }

    private AttemptDecision Decide(int attempt, int maxRetries, AgentOutcome outcome, bool timedOut) => outcome switch
    {
        AgentOutcome.Completed completed => new AttemptDecision.Complete(completed.Output),
        AgentOutcome.Waiting waiting => new AttemptDecision.Wait(waiting.For),
        AgentOutcome.Failed { Retryable: true } failed when attempt <= maxRetries =>
            new AttemptDecision.Retry(attempt + 1, time.GetUtcNow() + retries.DelayBefore(attempt + 1, random()), failed.Error),
        AgentOutcome.Failed failed => new AttemptDecision.Fail(timedOut ? "timed_out" : "failed", failed.Error),
        _ => throw new InvalidOperationException($"Unknown outcome {outcome}."),
    };
}
