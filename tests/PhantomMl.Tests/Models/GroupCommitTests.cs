using System.Net;
using PhantomMl.Client;
using PhantomMl.Grains.Models;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Models;

/// <summary>
/// The model grain commits the changes that wait for it together (group commit). These tests hold it to "exactly the
/// same as one at a time": the same updates, sent by 64 writers at once to one model and one by one to another, must
/// leave the same state, the same audit rows in the same order, and give every caller the same answer.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class GroupCommitTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const int Writers = 64;
    private const int Updates = 10_000;

    /// <summary>What a caller was told: its ETag after success, or the status it was refused with.</summary>
    private readonly record struct Outcome(long? ETag, int? Status);

    /// <summary>
    /// Update <c>i</c> belongs to writer <c>i % 64</c>. Most merge the writer's tag with its next number; every 10th
    /// expects an ETag far ahead (412 wherever it lands); every 25th names an invalid tag (400 wherever it lands), so the
    /// refusals do not depend on the order the writers interleave in.
    /// </summary>
    private static (UpdateModel Command, long? ExpectedETag) UpdateNumber(int i) =>
        i % 10 == 9 ? (new UpdateModel(MergeTags: Tag(i)), 1_000_000_000)
        : i % 25 == 24 ? (new UpdateModel(MergeTags: new Dictionary<string, string> { ["not a tag key"] = "x" }), null)
        : (new UpdateModel(MergeTags: Tag(i)), null);

    private static Dictionary<string, string> Tag(int i) => new() { [$"w{i % Writers}"] = (i / Writers).ToString() };

    [Fact]
    public async Task Ten_thousand_updates_from_64_writers_end_exactly_as_the_same_updates_applied_one_at_a_time()
    {
        var token = TestContext.Current.CancellationToken;
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("group");
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        await using var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, token);
        var first = await client.CreateModelAsync(tenant, "together", new CreateModel("classifier", "fasttree"), token);
        await client.CreateModelAsync(tenant, "alone", new CreateModel("classifier", "fasttree"), token);

        // Together: every writer sends its own updates in order, all writers at once.
        var together = await ConcurrentWriters.TogetherAsync(Writers, Updates, i => ApplyAsync(client, tenant, "together", i, token));

        // The successes' ETags say in which order they were applied: exactly one each, with no gap.
        var applied = Enumerable.Range(0, Updates).Where(i => together[i].ETag is not null).OrderBy(i => together[i].ETag).ToList();
        Assert.Equal(Enumerable.Range(1, applied.Count).Select(n => first.ETag + n), applied.Select(i => together[i].ETag!.Value));
        Assert.Equal(Updates - Updates / 10 - (Updates / 25 - Updates / 50), applied.Count); // every 50th is stale, not invalid

        // Alone: the refusals first (they change nothing wherever they land), then the successes in the order they were
        // applied, each sent only after the previous one was answered.
        var alone = new Outcome[Updates];
        foreach (var i in Enumerable.Range(0, Updates).Where(i => together[i].ETag is null).Concat(applied))
        {
            alone[i] = await ApplyAsync(client, tenant, "alone", i, token);
        }

        Assert.Equal(together, alone);
        var modelTogether = await client.GetModelAsync(tenant, "together", token);
        var modelAlone = await client.GetModelAsync(tenant, "alone", token);
        Assert.Equal(modelAlone.ETag, modelTogether.ETag);
        Assert.Equal(modelAlone.Tags.OrderBy(t => t.Key), modelTogether.Tags.OrderBy(t => t.Key));
        // Every writer's last acknowledged number is stored: no update lost.
        foreach (var writer in Enumerable.Range(0, Writers))
        {
            var last = applied.Where(i => i % Writers == writer).Max();
            Assert.Equal((last / Writers).ToString(), modelTogether.Tags[$"w{writer}"]);
        }

        // The audit rows: the same successes in the same order, the same failed attempts, none for the stale ETags.
        var rowsTogether = await AuditRowsAsync(tenantId, "together");
        var rowsAlone = await AuditRowsAsync(tenantId, "alone");
        Assert.Equal(applied.Count, rowsTogether.Count(r => r.Result == "success"));
        Assert.Equal(rowsAlone.Where(r => r.Result == "success").Select(r => r.Details), rowsTogether.Where(r => r.Result == "success").Select(r => r.Details));
        Assert.Equal(Updates / 25 - Updates / 50, rowsTogether.Count(r => r.Result == "failure"));
        Assert.Equal(rowsAlone.Where(r => r.Result == "failure").Select(r => r.Details).Order(),
            rowsTogether.Where(r => r.Result == "failure").Select(r => r.Details).Order());

        // And the first run really was grouped: rows committed together share their transaction's timestamp, while
        // one at a time every success has a moment of its own.
        var successTimes = rowsTogether.Where(r => r.Result == "success").Select(r => r.Timestamp).Distinct().Count();
        Assert.True(successTimes < applied.Count / 2, $"{applied.Count} updates committed in {successTimes} transactions");
        Assert.Equal(applied.Count, rowsAlone.Where(r => r.Result == "success").Select(r => r.Timestamp).Distinct().Count());
    }

    [Fact]
    public async Task A_replayed_update_is_answered_without_applying_it_twice_and_a_reused_key_changes_nothing()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("replay");
        var path = $"/api/v1/tenants/{tenant}/models/replayed";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "replayed", modelType = "classifier", algorithm = "fasttree" });
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "update-1", ["If-Match"] = "*" };

        var first = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, path, key, new { mergeTags = new { stage = "one" } }, headers);
        // The replay's audit claim finds the request applied: the batch rolls back and the change is answered one at a time.
        var replay = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, path, key, new { mergeTags = new { stage = "one" } }, headers);
        Assert.Equal(first.GetProperty("eTag").GetInt64(), replay.GetProperty("eTag").GetInt64());
        await platform.ExpectAsync((HttpStatusCode)422, HttpMethod.Patch, path, key, new { mergeTags = new { stage = "two" } }, headers);

        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
        Assert.Equal(first.GetProperty("eTag").GetInt64(), model.GetProperty("eTag").GetInt64());
        Assert.Equal("one", model.GetProperty("tags").GetProperty("stage").GetString());
        Assert.Equal(1, (await platform.AuditAsync(tenant)).Count(row => row.GetProperty("action").GetString() == "update"
            && row.GetProperty("result").GetString() == "success"));
    }

    private static async Task<Outcome> ApplyAsync(PhantomClient client, string tenant, string model, int i, CancellationToken token)
    {
        var (command, expected) = UpdateNumber(i);
        try
        {
            return new Outcome((await client.UpdateModelAsync(tenant, model, command, expected, token)).ETag, null);
        }
        catch (PhantomException e)
        {
            return new Outcome(null, e.Status);
        }
    }

    private Task<List<AuditRow>> AuditRowsAsync(Guid tenantId, string model) =>
        AuditRows.ReadAsync(platform.Databases.OwnerSource, tenantId, "model", ["update"], model);
}
