using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using PhantomMl.Grains.Agents;
using PhantomMl.Grains.Agents.Actions;

namespace PhantomMl.Tests.Agents;

/// <summary>
/// Attempts, retries and timeouts on a fake clock: the same <see cref="ExecutionDriver"/> the execution grain runs, driven
/// through a whole execution the way the grain drives it (an attempt, then the next at the time it names).
/// </summary>
public sealed class ExecutionDriverTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public async Task Retries_back_off_exponentially_with_jitter_up_to_the_cap_and_stop_after_max_retries(double random)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var driver = new ExecutionDriver(time, new RetryPolicy(Base, Max), () => random);
        var attemptsAt = new List<DateTimeOffset>();
        Task<AgentOutcome> Failing(CancellationToken _)
        {
            attemptsAt.Add(time.GetUtcNow());
            return Task.FromResult<AgentOutcome>(new AgentOutcome.Failed("down", Retryable: true));
        }

        var decision = await RunToEndAsync(time, driver, maxRetries: 6, TimeSpan.FromMinutes(1), Failing);

        var failed = Assert.IsType<AttemptDecision.Fail>(decision);
        Assert.Equal("failed", failed.Status);
        Assert.Equal(7, attemptsAt.Count); // the first attempt and six retries
        var gaps = attemptsAt.Zip(attemptsAt.Skip(1), (a, b) => b - a).ToList();
        for (var i = 0; i < gaps.Count; i++)
        {
            // Equal jitter: between half and all of min(base * 2^i, cap).
            var backoff = TimeSpan.FromMilliseconds(Math.Min(Max.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, i)));
            Assert.InRange(gaps[i], backoff / 2, backoff);
            Assert.Equal((backoff / 2 + (backoff / 2 * random)).TotalMilliseconds, gaps[i].TotalMilliseconds, 1.0);
        }
    }

    [Fact]
    public async Task An_attempt_over_its_timeout_is_abandoned_retried_and_finally_timed_out()
    {
        var time = new FakeTimeProvider();
        var driver = new ExecutionDriver(time, new RetryPolicy(Base, Max), () => 0);
        var started = 0;
        // Ignores its token: the driver must not wait for it.
        Task<AgentOutcome> Hanging(CancellationToken _)
        {
            started++;
            return new TaskCompletionSource<AgentOutcome>().Task;
        }

        var attempt = driver.RunAttemptAsync(1, maxRetries: 1, TimeSpan.FromSeconds(30), Hanging, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(attempt.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var retry = Assert.IsType<AttemptDecision.Retry>(await attempt);
        Assert.Equal(2, retry.NextAttempt);
        Assert.Contains("did not finish within 30000 ms", retry.Error);

        var second = driver.RunAttemptAsync(2, maxRetries: 1, TimeSpan.FromSeconds(30), Hanging, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        var end = Assert.IsType<AttemptDecision.Fail>(await second);
        Assert.Equal("timed_out", end.Status);
        Assert.Equal(2, started);
    }

    [Fact]
    public async Task A_non_retryable_failure_ends_at_once_and_exceptions_are_sorted_by_kind()
    {
        var time = new FakeTimeProvider();
        var driver = new ExecutionDriver(time, new RetryPolicy(Base, Max), () => 0);
        var timeout = TimeSpan.FromSeconds(5);

        Assert.IsType<AttemptDecision.Fail>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => Task.FromResult<AgentOutcome>(new AgentOutcome.Failed("bad config", Retryable: false)), CancellationToken.None));
        Assert.IsType<AttemptDecision.Fail>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => throw new AgentFailure("rejected", retryable: false), CancellationToken.None));
        Assert.IsType<AttemptDecision.Fail>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => throw PhantomException.Invalid("no such dataset"), CancellationToken.None));
        Assert.IsType<AttemptDecision.Retry>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => throw PhantomException.Unavailable(ProblemTypes.ClusterUnavailable, "Unavailable", "store down"), CancellationToken.None));
        Assert.IsType<AttemptDecision.Retry>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => throw new HttpRequestException("connection refused"), CancellationToken.None));
        var completed = Assert.IsType<AttemptDecision.Complete>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => Task.FromResult<AgentOutcome>(new AgentOutcome.Completed(new JsonObject { ["x"] = 1 })), CancellationToken.None));
        Assert.Equal(1, completed.Output["x"]!.GetValue<int>());
        Assert.IsType<AttemptDecision.Wait>(await driver.RunAttemptAsync(1, 5, timeout,
            _ => Task.FromResult<AgentOutcome>(new AgentOutcome.Waiting("approval")), CancellationToken.None));
    }

    [Fact]
    public async Task Cancelling_stops_a_running_attempt_without_a_retry()
    {
        var time = new FakeTimeProvider();
        var driver = new ExecutionDriver(time, new RetryPolicy(Base, Max), () => 0);
        using var cancel = new CancellationTokenSource();
        var attempt = driver.RunAttemptAsync(1, 5, TimeSpan.FromMinutes(1), async token =>
        {
            await Task.Delay(TimeSpan.FromHours(1), time, token);
            return new AgentOutcome.Completed([]);
        }, cancel.Token);
        await cancel.CancelAsync();
        Assert.IsType<AttemptDecision.Cancelled>(await attempt);
    }

    [Fact]
    public void The_backoff_never_exceeds_its_cap_however_many_attempts()
    {
        var policy = new RetryPolicy(Base, Max);
        Assert.Equal((TimeSpan.FromMilliseconds(500), Base), policy.Bounds(2));
        Assert.Equal((TimeSpan.FromSeconds(5), Max), policy.Bounds(50));
        Assert.Equal((TimeSpan.FromSeconds(5), Max), policy.Bounds(int.MaxValue));
    }

    /// <summary>Runs attempts as the grain does: each retry at the time the previous decision named.</summary>
    private static async Task<AttemptDecision> RunToEndAsync(FakeTimeProvider time, ExecutionDriver driver, int maxRetries, TimeSpan timeout,
        Func<CancellationToken, Task<AgentOutcome>> work)
    {
        var attempt = 1;
        while (true)
        {
            var decision = await driver.RunAttemptAsync(attempt, maxRetries, timeout, work, CancellationToken.None);
            if (decision is not AttemptDecision.Retry retry)
            {
                return decision;
            }

            Assert.Equal(attempt + 1, retry.NextAttempt);
            time.Advance(retry.At - time.GetUtcNow());
            attempt = retry.NextAttempt;
        }
    }
}
