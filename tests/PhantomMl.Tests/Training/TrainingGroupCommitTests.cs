using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using PhantomMl.Client;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>
/// The training-job grain commits the changes that wait for it together (group commit, one transaction with a savepoint
/// per change). Held to "exactly the same as one at a time": the same 2,000 runner reports, sent by 64 writers at once
/// to one job and one by one to another, must leave the same parameters and progress and the same audit rows, and give
/// every caller the same answer.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed partial class TrainingGroupCommitTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const int Writers = 64;
    private const int Updates = 2_000;

    /// <summary>What a caller was told: the job's progress and parameter count after success, or the status it was refused with.</summary>
    private readonly record struct Outcome(double? Progress, int? Parameters, int? Status);

    /// <summary>
    /// Update <c>i</c> belongs to writer <c>w = i % 64</c>, its <c>k = i / 64</c>-th. Writer 0 reports progress every
    /// 5th time (not audited row by row). Every 10th logs <c>trees</c> again with another value: 409, a parameter keeps
    /// its first value. Every 25th sends a name that is not one (400). The rest log the writer's own parameter
    /// <c>w{w}.{k % 8}</c>, the first time as new, later again with the same value (a no-op that succeeds). No outcome
    /// depends on how the writers interleave.
    /// </summary>
    private static Task<TrainingJobView> Send(PhantomClient client, string tenant, Guid job, int i, CancellationToken token)
    {
        var (writer, number) = (i % Writers, i / Writers);
        return (writer, number % 5, i % 10, i % 25) switch
        {
            (0, 4, _, _) => client.ReportTrainingProgressAsync(tenant, job, number / 100.0, token),
            (_, _, 9, _) => client.LogTrainingParamsAsync(tenant, job, new Dictionary<string, string> { ["trees"] = $"{i}" }, token),
            (_, _, _, 12) => client.LogTrainingParamsAsync(tenant, job, new Dictionary<string, string> { [$"not a name {i}!"] = "1" }, token),
            _ => client.LogTrainingParamsAsync(tenant, job, new Dictionary<string, string> { [$"w{writer}.{number % 8}"] = $"{number % 8}" }, token),
        };
    }

    [Fact]
    public async Task Two_thousand_runner_reports_from_64_writers_end_exactly_as_the_same_reports_applied_one_at_a_time()
    {
        var token = TestContext.Current.CancellationToken;
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("grpjob", new Dictionary<string, long> { ["concurrent_training_jobs"] = 5 });
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, token);
        await client.CreateModelAsync(tenant, "m", new CreateModel("classifier", "fasttree"), token);
        var together = await RunningJobAsync(client, tenant, "together", token);
        var alone = await RunningJobAsync(client, tenant, "alone", token);

        var outcomesTogether = await ConcurrentWriters.TogetherAsync(Writers, Updates, i => ApplyAsync(client, tenant, together, i, token));
        var outcomesAlone = await ConcurrentWriters.OneByOneAsync(Updates, i => ApplyAsync(client, tenant, alone, i, token));

        Assert.Equal(outcomesAlone.Select(o => o.Status), outcomesTogether.Select(o => o.Status));
        Assert.Contains(outcomesTogether, o => o.Status == 409);
        Assert.Contains(outcomesTogether, o => o.Status == 400);
        // Writer 0's progress reports are the only ones: each answered with the progress it set.
        Assert.Equal(outcomesAlone.Where((_, i) => i % Writers == 0).Select(o => o.Progress), outcomesTogether.Where((_, i) => i % Writers == 0).Select(o => o.Progress));

        // The same parameters and progress; the first value of trees kept; every parameter acknowledged is stored.
        var jobTogether = await client.GetTrainingJobAsync(tenant, together, token);
        var jobAlone = await client.GetTrainingJobAsync(tenant, alone, token);
        var parameters = Parameters(jobTogether);
        Assert.Equal(Parameters(jobAlone), parameters);
        Assert.Equal(jobAlone.Progress, jobTogether.Progress, 9);
        Assert.Equal("100", parameters["trees"]);
        foreach (var i in Enumerable.Range(0, Updates).Where(i => outcomesTogether[i].Status is null && outcomesTogether[i].Parameters is not null
                     && i % 10 != 9 && !(i % Writers == 0 && i / Writers % 5 == 4)))
        {
            Assert.Equal($"{i / Writers % 8}", parameters[$"w{i % Writers}.{i / Writers % 8}"]);
        }

        // The audit rows: each writer's successes in the same order, the same failed attempts.
        var rowsTogether = await AuditRows.ReadAsync(platform.Databases.OwnerSource, tenantId, "training_job", ["log-params"], together.ToString());
        var rowsAlone = await AuditRows.ReadAsync(platform.Databases.OwnerSource, tenantId, "training_job", ["log-params"], alone.ToString());
        var successes = rowsTogether.Where(r => r.Result == "success").ToList();
        Assert.Equal(outcomesTogether.Count(o => o.Status is null && o.Parameters is not null) - 6, successes.Count); // less the 6 progress reports
        Assert.Equal(PerWriter(rowsAlone.Where(r => r.Result == "success")), PerWriter(successes));
        Assert.Equal(outcomesTogether.Count(o => o.Status == 409), rowsTogether.Count(r => r.Result == "failure"));
        Assert.Equal(rowsAlone.Where(r => r.Result == "failure").Select(r => r.Details).Order(),
            rowsTogether.Where(r => r.Result == "failure").Select(r => r.Details).Order());

        // And the first run really was grouped: rows committed together share their transaction's timestamp.
        var transactions = successes.Select(r => r.Timestamp).Distinct().Count();
        Assert.True(transactions < successes.Count / 2, $"{successes.Count} reports committed in {transactions} transactions");
        Assert.Equal(rowsAlone.Count, rowsAlone.Select(r => r.Timestamp).Distinct().Count());
    }

    /// <summary>An external job, scheduled and reported running by its runner.</summary>
    private static async Task<Guid> RunningJobAsync(PhantomClient client, string tenant, string name, CancellationToken token)
    {
        var job = await client.CreateTrainingJobAsync(tenant, new CreateTrainingJob(name, "m", "s3://datasets/train.csv", Hyperparameters: """{"trees": 100}"""),
            token);
        Assert.Equal("scheduled", job.Status);
        await client.ReportTrainingStatusAsync(tenant, job.Id, "running", cancellationToken: token);
        return job.Id;
    }

    private static async Task<Outcome> ApplyAsync(PhantomClient client, string tenant, Guid job, int i, CancellationToken token)
    {
        try
        {
            var view = await Send(client, tenant, job, i, token);
            return new Outcome(view.Progress, Parameters(view).Count, null);
        }
        catch (PhantomException e)
        {
            return new Outcome(null, null, e.Status);
        }
    }

    private static Dictionary<string, string> Parameters(TrainingJobView job) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(job.Hyperparameters ?? "{}")!.ToDictionary(p => p.Key,
            p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());

    /// <summary>Each writer's rows in the order they were written, writers in order.</summary>
    private static List<string> PerWriter(IEnumerable<AuditRow> rows) =>
        rows.GroupBy(r => int.Parse(WriterOf().Match(r.Details).Groups[1].Value)).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}: {string.Join(" | ", g.Select(r => r.Details))}").ToList();

    [GeneratedRegex(@"""w(\d+)\.")]
    private static partial Regex WriterOf();
}
