using System.Net;
using PhantomMl.Client;
using PhantomMl.Grains.Tenants;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Tenants;

/// <summary>
/// The tenant grain commits the changes that wait for it together (group commit, one transaction with a savepoint per
/// change). Held to "exactly the same as one at a time": the same 1,000 user changes, sent by 64 writers at once to
/// one tenant and one by one to another, must leave the same users, the same users quota and the same audit rows, and
/// give every caller the same answer, including the ones refused by the database itself (a duplicate user).
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class TenantGroupCommitTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const int Writers = 64;
    private const int Updates = 1_000;
    private static readonly string[] Actions = ["add-user", "update-user"];

    /// <summary>What a caller was told: the user's email after success, or the status it was refused with.</summary>
    private readonly record struct Outcome(string? Email, int? Status);

    /// <summary>
    /// Update <c>i</c> belongs to writer <c>w = i % 64</c>, who owns user <c>u{w}</c>. Most change that user's email to
    /// the writer's next number. Every 100th (from 37) adds <c>u{w}</c> again: the unique index refuses it (409) after
    /// its quota was counted, so the quota must roll back with it. Every 100th (from 73) adds a new user. Every 10th
    /// sends an invalid email (400), every 25th changes a user that does not exist (404). No outcome depends on how the
    /// writers interleave.
    /// </summary>
    private static Task<TenantUserView> Send(PhantomClient client, string tenant, int i, CancellationToken token)
    {
        var (writer, number) = (i % Writers, i / Writers);
        return (i % 100, i % 10, i % 25) switch
        {
            (37, _, _) => client.AddUserAsync(tenant, new AddTenantUser($"u{writer}", $"again{i}@example.com", ["viewer"]), token),
            (73, _, _) => client.AddUserAsync(tenant, new AddTenantUser($"a{i}", $"a{i}@example.com", ["viewer"]), token),
            (_, 9, _) => client.UpdateUserAsync(tenant, $"u{writer}", new UpdateTenantUser(Email: $"not an address {i}"), token),
            (_, _, 24) => client.UpdateUserAsync(tenant, $"nobody{writer}", new UpdateTenantUser(Email: $"n{i}@example.com"), token),
            _ => client.UpdateUserAsync(tenant, $"u{writer}", new UpdateTenantUser(Email: $"u{writer}.{number}@example.com"), token),
        };
    }

    [Fact]
    public async Task A_thousand_user_changes_from_64_writers_end_exactly_as_the_same_changes_applied_one_at_a_time()
    {
        var token = TestContext.Current.CancellationToken;
        var together = await TenantWithUsersAsync("grpt", token);
        await using var togetherClient = together.Client;
        var alone = await TenantWithUsersAsync("grpa", token);
        await using var aloneClient = alone.Client;

        var outcomesTogether = await ConcurrentWriters.TogetherAsync(Writers, Updates, i => ApplyAsync(together.Client, together.Key, i, token));
        var outcomesAlone = await ConcurrentWriters.OneByOneAsync(Updates, i => ApplyAsync(alone.Client, alone.Key, i, token));

        Assert.Equal(outcomesAlone, outcomesTogether);
        var statuses = outcomesTogether.CountBy(o => o.Status ?? 200).ToDictionary();
        Assert.Equal(new Dictionary<int, int> { [200] = Updates * 87 / 100, [400] = Updates / 10, [404] = Updates / 50, [409] = Updates / 100 }, statuses);

        // The same users with the same emails; every writer's last acknowledged email is stored (no update lost).
        var usersTogether = await Users(together);
        Assert.Equal(await Users(alone), usersTogether);
        foreach (var writer in Enumerable.Range(0, Writers))
        {
            var last = Enumerable.Range(0, Updates).Last(i => i % Writers == writer && outcomesTogether[i].Email?.StartsWith('u') == true);
            Assert.Equal(outcomesTogether[last].Email, usersTogether[$"u{writer}"]);
        }

        // The refused duplicates gave their quota back: both tenants count exactly the users they have.
        Assert.Equal(usersTogether.Count, await UsersQuotaAsync(together));
        Assert.Equal(usersTogether.Count, await UsersQuotaAsync(alone));

        // The audit rows: each user's successes in the same order, the same failed attempts, none for the 404s.
        var rowsTogether = await AuditRows.ReadAsync(platform.Databases.OwnerSource, together.TenantId, "tenant-user", Actions);
        var rowsAlone = await AuditRows.ReadAsync(platform.Databases.OwnerSource, alone.TenantId, "tenant-user", Actions);
        var successes = rowsTogether.Where(r => r.Result == "success").ToList();
        Assert.Equal(Updates * 87 / 100 + Writers + 1, successes.Count); // with the setup's additions (the admin, the writers' users)
        Assert.Equal(PerUser(rowsAlone.Where(r => r.Result == "success")), PerUser(successes));
        Assert.Equal(Updates * 11 / 100, rowsTogether.Count(r => r.Result == "failure"));
        Assert.Equal(rowsAlone.Where(r => r.Result == "failure").Select(r => (r.ResourceId, r.Details)).Order(),
            rowsTogether.Where(r => r.Result == "failure").Select(r => (r.ResourceId, r.Details)).Order());

        // And the first run really was grouped: rows committed together share their transaction's timestamp.
        var transactions = successes.Select(r => r.Timestamp).Distinct().Count();
        Assert.True(transactions < successes.Count / 2, $"{successes.Count} changes committed in {transactions} transactions");
        Assert.Equal(rowsAlone.Count, rowsAlone.Select(r => r.Timestamp).Distinct().Count());
    }

    private sealed record Tenant(string Key, Guid TenantId, PhantomClient Client);

    /// <summary>A tenant with room for the users the test adds, its admin's SDK client, and the writers' users u0..u63.</summary>
    private async Task<Tenant> TenantWithUsersAsync(string label, CancellationToken token)
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync(label, new Dictionary<string, long> { [Quotas.Users] = 1_000 });
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        var client = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, token);
        foreach (var writer in Enumerable.Range(0, Writers))
        {
            await client.AddUserAsync(tenant, new AddTenantUser($"u{writer}", $"u{writer}@example.com", ["viewer"]), token);
        }

        return new Tenant(tenant, tenantId, client);
    }

    private static async Task<Outcome> ApplyAsync(PhantomClient client, string tenant, int i, CancellationToken token)
    {
        try
        {
            return new Outcome((await Send(client, tenant, i, token)).Email, null);
        }
        catch (PhantomException e)
        {
            return new Outcome(null, e.Status);
        }
    }

    private static async Task<Dictionary<string, string>> Users(Tenant tenant) =>
        (await tenant.Client.ListUsersAsync(tenant.Key)).Where(u => u.UserId != "admin").ToDictionary(u => u.UserId, u => u.Email);

    private static async Task<long> UsersQuotaAsync(Tenant tenant) =>
        (await tenant.Client.GetQuotaUsageAsync(tenant.Key)).Single(q => q.Resource == Quotas.Users).Used - 1; // the admin

    /// <summary>Each user's rows in the order they were written, users in name order.</summary>
    private static List<string> PerUser(IEnumerable<AuditRow> rows) =>
        rows.GroupBy(r => r.ResourceId).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {string.Join(" | ", g.Select(r => $"{r.Action} {r.Details}"))}").ToList();
}
