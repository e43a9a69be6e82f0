using System.Net;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Models;

[Collection(SiloProcessCollection.Name)]
public sealed class ModelRegistryTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task The_lifecycle_allows_its_documented_moves_and_refuses_the_others_with_409()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("life");
        var model = await CreateModelAsync(tenant, key, "churn");
        Assert.Equal("created", model.GetProperty("status").GetString());

        foreach (var status in new[] { "training", "trained", "active" })
        {
            model = await ChangeStatusAsync(tenant, key, "churn", status, HttpStatusCode.OK, model);
            Assert.Equal(status, model.GetProperty("status").GetString());
        }

        var refused = await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/churn/status", key,
            new { status = "training" }, IfMatch(model));
        Assert.Contains("cannot become training", refused.GetProperty("detail").GetString());
        await ChangeStatusAsync(tenant, key, "churn", "dancing", HttpStatusCode.BadRequest, model);
        model = await ChangeStatusAsync(tenant, key, "churn", "archived", HttpStatusCode.OK, model);
        await ChangeStatusAsync(tenant, key, "churn", "active", HttpStatusCode.Conflict, model);

        var audit = await platform.AuditAsync(tenant);
        Assert.Equal(4, audit.Count(r => r.GetProperty("action").GetString() == "change-status" && r.GetProperty("result").GetString() == "success"));
        Assert.Equal(3, audit.Count(r => r.GetProperty("action").GetString() == "change-status" && r.GetProperty("result").GetString() == "failure"));
    }

    [Fact]
    public async Task Updates_need_the_current_ETag_and_a_hundred_concurrent_stale_ones_have_exactly_one_winner_each()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("etag");
        var model = await CreateModelAsync(tenant, key, "fraud");
        var path = $"/api/v1/tenants/{tenant}/models/fraud";

        await platform.ExpectAsync(HttpStatusCode.PreconditionRequired, HttpMethod.Patch, path, key, new { algorithm = "lightgbm" });
        var stale = await platform.ExpectAsync(HttpStatusCode.PreconditionFailed, HttpMethod.Patch, path, key, new { algorithm = "lightgbm" }, IfMatch(99));
        Assert.Equal(model.GetProperty("eTag").GetInt64().ToString(), stale.GetProperty("etag").GetString());

        for (var round = 0; round < 2; round++)
        {
            var etag = model.GetProperty("eTag").GetInt64();
            var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
            {
                using var response = await platform.SendAsync(HttpMethod.Patch, path, key, new { tags = new Dictionary<string, string> { ["writer"] = $"{round}-{i}" } }, IfMatch(etag));
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(), ETag: response.Headers.ETag?.Tag);
            }));

            var winners = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
            var winner = Assert.Single(winners);
            Assert.Equal(99, results.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed));
            model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
            // No lost update: the stored tags are the winner's, and the ETag moved by exactly one.
            Assert.Equal(JsonDocument.Parse(winner.Body).RootElement.GetProperty("tags").GetProperty("writer").GetString(),
                model.GetProperty("tags").GetProperty("writer").GetString());
            Assert.Equal(etag + 1, model.GetProperty("eTag").GetInt64());
            Assert.Equal($"\"{etag + 1}\"", winner.ETag);
        }
    }

    [Fact]
    public async Task Reads_served_from_the_Redis_cache_see_every_change_at_once()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("cache");
        var model = await CreateModelAsync(tenant, key, "hot");
        var path = $"/api/v1/tenants/{tenant}/models/hot";
        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.Redis);
        for (var i = 0; i < 10; i++)
        {
            model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, path, key, new { tags = new Dictionary<string, string> { ["n"] = $"{i}" } }, IfMatch(model));
            var read = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
            Assert.Equal($"{i}", read.GetProperty("tags").GetProperty("n").GetString());
            Assert.Equal(model.GetProperty("eTag").GetInt64(), read.GetProperty("eTag").GetInt64());
        }

        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        var cacheKey = $"phantom:t:{tenantId:N}:model:hot";
        var cached = await redis.GetDatabase().StringGetAsync(cacheKey);
        Assert.Contains("\"n\":\"9\"", cached.ToString());

        // Reads really come from Redis: a value put there behind the platform's back is what the next read answers
        // (only the model's grain ever writes the key, so this never happens in operation).
        await redis.GetDatabase().StringSetAsync(cacheKey, cached.ToString().Replace("\"n\":\"9\"", "\"n\":\"from-redis\""), TimeSpan.FromMinutes(1));
        var fromCache = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
        Assert.Equal("from-redis", fromCache.GetProperty("tags").GetProperty("n").GetString());
    }

    [Fact]
    public async Task Versions_compute_their_delta_one_is_active_and_aliases_move_atomically()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("ver");
        var model = await CreateModelAsync(tenant, key, "ranker");
        var path = $"/api/v1/tenants/{tenant}/models/ranker";

        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{path}/versions", key,
            new { version = "1.0.0", accuracy = 0.8, f1 = 0.7, performanceMetrics = new { logLoss = 0.5 } });
        var v2 = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{path}/versions", key,
            new { version = "1.1.0", parentVersion = "1.0.0", changelog = "more data", accuracy = 0.85, f1 = 0.65, performanceMetrics = new { logLoss = 0.4 } });
        var delta = v2.GetProperty("performanceDelta");
        Assert.Equal(0.05, delta.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(-0.05, delta.GetProperty("f1").GetDouble(), 6);
        Assert.Equal(-0.1, delta.GetProperty("logLoss").GetDouble(), 6);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{path}/versions", key, new { version = "2", parentVersion = "9.9" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{path}/versions", key, new { version = "2", accuracy = 1.5 });
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{path}/versions", key, new { version = "1.0.0" });

        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{path}/aliases/champion", key, new { version = "1.0.0" }, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{path}/aliases/challenger", key, new { version = "1.1.0" }, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/versions/champion/activate", key, headers: IfMatch(model));
        Assert.Equal("1.0.0", model.GetProperty("activeVersion").GetString());
        Assert.Equal("1.0.0", (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/versions/champion", key)).GetProperty("version").GetString());

        // Promote the challenger: move the alias, then activate through it.
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{path}/aliases/champion", key, new { version = "challenger" }, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{path}/versions/champion/activate", key, headers: IfMatch(model));
        Assert.Equal("1.1.0", model.GetProperty("activeVersion").GetString());
        Assert.Equal("1.1.0", model.GetProperty("aliases").GetProperty("champion").GetString());

        var versions = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{path}/versions", key);
        Assert.Equal(["1.1.0"], versions.EnumerateArray().Where(v => v.GetProperty("isActive").GetBoolean()).Select(v => v.GetProperty("version").GetString()));
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{path}/versions/nope", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"{path}/aliases/Not%20Valid", key, new { version = "1.0.0" }, IfMatch(model));
    }

    [Fact]
    public async Task Lineage_returns_ancestors_and_descendants_and_refuses_cycles_and_other_tenants()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("lin");
        var (other, otherKey) = await platform.CreateTenantWithAdminAsync("lin-other");
        foreach (var name in new[] { "base", "tuned", "distilled" })
        {
            await CreateModelAsync(tenant, key, name);
        }

        await CreateModelAsync(other, otherKey, "foreign");
        var models = $"/api/v1/tenants/{tenant}/models";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/tuned/lineage", key, new { parentModel = "base", lineageType = "retrained" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/distilled/lineage", key,
            new { parentModel = "tuned", lineageType = "derived", transformationMetadata = new { method = "distillation" } });

        var graph = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/distilled/lineage", key);
        Assert.Equal(["tuned", "base"], graph.GetProperty("ancestors").EnumerateArray().Select(e => e.GetProperty("parentModel").GetString()).Reverse());
        var descendants = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/base/lineage", key);
        Assert.Equal(["tuned", "distilled"], descendants.GetProperty("descendants").EnumerateArray().Select(e => e.GetProperty("model").GetString()));
        var shallow = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/distilled/lineage?depth=1", key);
        Assert.Single(shallow.GetProperty("ancestors").EnumerateArray());

        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{models}/base/lineage", key, new { parentModel = "distilled", lineageType = "derived" });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{models}/base/lineage", key, new { parentModel = "foreign", lineageType = "derived" });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{models}/base/lineage", key, new { parentModel = "tuned", lineageType = "cloned" });
    }

    [Fact]
    public async Task A_rename_takes_versions_aliases_and_lineage_along_and_waits_for_work_that_names_the_model()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("rename");
        var models = $"/api/v1/tenants/{tenant}/models";
        await CreateModelAsync(tenant, key, "base");
        await CreateModelAsync(tenant, key, "taken");
        await CreateModelAsync(tenant, key, "churn");
        foreach (var version in new[] { "1", "2" })
        {
            await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/churn/versions", key, new { version });
        }

        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn", key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/churn/versions/2/activate", key, null, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{models}/churn/aliases/champion", key, new { version = "1" }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/churn/lineage", key, new { parentModel = "base", lineageType = "retrained" });
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn", key);

        // A training job that will register into the model would look the old name up later: the rename waits for it.
        var job = (await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key,
            new { jobName = "nightly", modelName = "churn", datasetUri = "s3://elsewhere/d.csv" })).GetProperty("id").GetString();
        var waiting = await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "churn-v2" },
            IfMatch(model));
        Assert.Contains($"training job {job}", waiting.GetProperty("detail").GetString());
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs/{job}/cancel", key);

        await platform.ExpectAsync(HttpStatusCode.PreconditionRequired, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "churn-v2" });
        await platform.ExpectAsync(HttpStatusCode.PreconditionFailed, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "churn-v2" }, IfMatch(99));
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "taken" }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "../etc" }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{models}/nobody/rename", key, new { newName = "x" }, IfMatch(model));
        Assert.Equal(model.GetRawText(), (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn", key)).GetRawText());

        var renamed = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/churn/rename", key, new { newName = "churn-v2" },
            IfMatch(model));
        Assert.Equal(("churn-v2", model.GetProperty("id").GetString(), "2", "1"), (renamed.GetProperty("name").GetString(),
            renamed.GetProperty("id").GetString(), renamed.GetProperty("activeVersion").GetString(),
            renamed.GetProperty("aliases").GetProperty("champion").GetString()));
        Assert.Equal(renamed.GetRawText(), (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn-v2", key)).GetRawText());
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{models}/churn", key);
        Assert.Equal(["1", "2"], (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn-v2/versions", key)).EnumerateArray()
            .Select(v => v.GetProperty("version").GetString()));

        // Lineage: the model-to-model edge, and the activation and promotion edges of its versions and aliases, under the new name.
        var ancestors = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn-v2/lineage", key);
        Assert.Equal(["base"], ancestors.GetProperty("ancestors").EnumerateArray().Select(e => e.GetProperty("parentModel").GetString()));
        var descendants = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/base/lineage", key);
        Assert.Equal(["churn-v2"], descendants.GetProperty("descendants").EnumerateArray().Select(e => e.GetProperty("model").GetString()));
        var served = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
            $"/api/v1/tenants/{tenant}/lineage?resourceType=model&resourceId=churn-v2&direction=upstream&depth=1", key);
        Assert.Contains(served.GetProperty("links").EnumerateArray(), link =>
            link.GetProperty("parentType").GetString() == "model_version" && link.GetProperty("parentId").GetString() == "churn-v2/versions/2");
        var promoted = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
            $"/api/v1/tenants/{tenant}/lineage?resourceType=alias&resourceId={Uri.EscapeDataString("churn-v2/aliases/champion")}&depth=1", key);
        Assert.Equal(["churn-v2/versions/1"], promoted.GetProperty("links").EnumerateArray().Select(l => l.GetProperty("parentId").GetString()));
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/lineage?resourceType=model&resourceId=churn", key);

        // The job that named the model shows the new name; the old name is free again; the audit trail has the rename.
        var named = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/training-jobs/{job}", key);
        Assert.Equal("churn-v2", named.GetProperty("modelName").GetString());
        var reborn = await CreateModelAsync(tenant, key, "churn");
        Assert.NotEqual(model.GetProperty("id").GetString(), reborn.GetProperty("id").GetString());
        Assert.Empty((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn/versions", key)).EnumerateArray());
        var renames = (await platform.AuditAsync(tenant))
            .Where(r => r.GetProperty("action").GetString() == "rename" && r.GetProperty("resourceId").GetString() == "churn")
            .Select(r => r.GetProperty("result").GetString()).ToList();
        Assert.Equal(1, renames.Count(result => result == "success"));
        // The refusals that reached the model (unfinished work, a taken name, a bad name) are in the trail too.
        Assert.True(renames.Count(result => result == "failure") >= 3, string.Join(", ", renames));
    }

    [Fact]
    public async Task An_archived_version_is_never_the_active_one_and_activating_it_brings_it_back()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("archive");
        var models = $"/api/v1/tenants/{tenant}/models";
        await CreateModelAsync(tenant, key, "fraud");
        foreach (var version in new[] { "1", "2" })
        {
            await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/fraud/versions", key, new { version });
        }

        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/fraud", key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/fraud/versions/2/activate", key, null, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{models}/fraud/versions/2/archive", key, null, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.PreconditionRequired, HttpMethod.Post, $"{models}/fraud/versions/1/archive", key);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{models}/fraud/versions/9/archive", key, null, IfMatch(model));

        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/fraud/versions/1/archive", key, null, IfMatch(model));
        var archived = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/fraud/versions/1", key);
        var since = archived.GetProperty("archivedAt").GetDateTimeOffset();
        Assert.True(since > DateTimeOffset.UtcNow.AddMinutes(-5), $"archivedAt {since}");
        // Archiving again keeps the first date; restoring clears it; activating an archived version brings it back too.
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/fraud/versions/1/archive", key, null, IfMatch(model));
        Assert.Equal(since, (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/fraud/versions/1", key))
            .GetProperty("archivedAt").GetDateTimeOffset());
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"{models}/fraud/versions/1/archive", key, null, IfMatch(model));
        Assert.Equal(JsonValueKind.Null, (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/fraud/versions/1", key))
            .GetProperty("archivedAt").ValueKind);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/fraud/versions/1/archive", key, null, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{models}/fraud/versions/1/activate", key, null, IfMatch(model));
        var versions = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/fraud/versions", key)).EnumerateArray()
            .ToDictionary(v => v.GetProperty("version").GetString()!, v => (v.GetProperty("isActive").GetBoolean(), v.GetProperty("archivedAt").ValueKind));
        Assert.Equal((true, JsonValueKind.Null), versions["1"]);
        Assert.Equal((false, JsonValueKind.Null), versions["2"]);
        Assert.Equal("1", model.GetProperty("activeVersion").GetString());
    }

    [Fact]
    public async Task Another_tenants_models_answer_404_everywhere_and_stay_unchanged()
    {
        var (a, aKey) = await platform.CreateTenantWithAdminAsync("mdl-a");
        var (b, bKey) = await platform.CreateTenantWithAdminAsync("mdl-b");
        await CreateModelAsync(b, bKey, "secret");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{b}/models/secret/versions", bKey, new { version = "1" });
        var before = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{b}/models/secret", bKey);
        var path = $"/api/v1/tenants/{b}/models/secret";
        var etag = IfMatch(before);

        (HttpMethod Method, string Path, object? Body)[] attempts =
        [
            (HttpMethod.Get, $"/api/v1/tenants/{b}/models", null),
            (HttpMethod.Post, $"/api/v1/tenants/{b}/models", new { name = "planted", modelType = "x", algorithm = "y" }),
            (HttpMethod.Get, path, null),
            (HttpMethod.Patch, path, new { algorithm = "stolen" }),
            (HttpMethod.Post, $"{path}/status", new { status = "archived" }),
            (HttpMethod.Delete, path, null),
            (HttpMethod.Get, $"{path}/versions", null),
            (HttpMethod.Post, $"{path}/versions", new { version = "2" }),
            (HttpMethod.Get, $"{path}/versions/1", null),
            (HttpMethod.Post, $"{path}/versions/1/activate", null),
            (HttpMethod.Post, $"{path}/versions/1/archive", null),
            (HttpMethod.Delete, $"{path}/versions/1/archive", null),
            (HttpMethod.Post, $"{path}/rename", new { newName = "stolen" }),
            (HttpMethod.Put, $"{path}/aliases/champion", new { version = "1" }),
            (HttpMethod.Get, $"{path}/lineage", null),
            (HttpMethod.Post, $"{path}/lineage", new { parentModel = "secret", lineageType = "derived" }),
        ];
        foreach (var (method, target, body) in attempts)
        {
            await platform.ExpectAsync(HttpStatusCode.NotFound, method, target, aKey, body, etag);
        }

        // A's own namespace does not reach B's model of the same name either.
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{a}/models/secret", aKey);
        var after = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, path, bKey);
        Assert.Equal(before.GetRawText(), after.GetRawText());
    }

    [Fact]
    public async Task Model_and_version_quotas_hold_and_deleting_releases_them()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("mq", quotas: new { users = 5, models = 2, model_versions = 2 });
        await CreateModelAsync(tenant, key, "one");
        var two = await CreateModelAsync(tenant, key, "two");
        var refused = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "three", modelType = "classifier", algorithm = "fasttree" });
        Assert.Equal("models", refused.GetProperty("quota").GetString());

        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/two/versions", key, new { version = "1" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/two/versions", key, new { version = "2" });
        await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/one/versions", key, new { version = "1" });

        two = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/two", key);
        using (var deleted = await platform.SendAsync(HttpMethod.Delete, $"/api/v1/tenants/{tenant}/models/two", key, headers: IfMatch(two)))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/two", key);
        await CreateModelAsync(tenant, key, "three");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/three/versions", key, new { version = "1" });
        var quotas = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key)).EnumerateArray()
            .ToDictionary(q => q.GetProperty("resource").GetString()!, q => q.GetProperty("used").GetInt64());
        Assert.Equal(2, quotas["models"]);
        Assert.Equal(1, quotas["model_versions"]);
    }

    [Fact]
    public async Task Search_filters_by_prefix_type_status_tag_and_pages_without_gaps_or_repeats()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("search");
        for (var i = 0; i < 7; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, new
            {
                name = $"{(i % 2 == 0 ? "churn" : "fraud")}-{i}",
                modelType = i < 4 ? "classifier" : "regressor",
                algorithm = "fasttree",
                tags = new Dictionary<string, string> { ["team"] = i % 3 == 0 ? "risk" : "growth" },
            });
        }

        async Task<List<string>> NamesAsync(string query)
        {
            var names = new List<string>();
            string? cursor = null;
            do
            {
                var page = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                    $"/api/v1/tenants/{tenant}/models?{query}&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"), key);
                names.AddRange(page.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!));
                cursor = page.GetProperty("nextCursor").GetString();
            }
            while (cursor is not null);
            return names;
        }

        Assert.Equal(["churn-0", "churn-2", "churn-4", "churn-6", "fraud-1", "fraud-3", "fraud-5"], await NamesAsync("sort=name"));
        Assert.Equal(["churn-6", "fraud-5", "churn-4", "fraud-3", "churn-2", "fraud-1", "churn-0"], await NamesAsync("sort=created"));
        Assert.Equal(["churn-0", "churn-2", "churn-4", "churn-6"], await NamesAsync("namePrefix=churn"));
        Assert.Equal(["churn-4", "churn-6", "fraud-5"], await NamesAsync("modelType=regressor"));
        Assert.Equal(["churn-0", "churn-6", "fraud-3"], await NamesAsync("tag=team%3Drisk"));
        Assert.Equal(7, (await NamesAsync("tag=team")).Count);
        Assert.Empty(await NamesAsync("status=active"));
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models?sort=size", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models?cursor=bogus", key);
    }

    private async Task<JsonElement> CreateModelAsync(string tenant, string key, string name) =>
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name, modelType = "classifier", algorithm = "fasttree", featureCount = 12, tags = new { team = "core" }, metadata = new { owner = "tests" } });

    private async Task<JsonElement> ChangeStatusAsync(string tenant, string key, string name, string status, HttpStatusCode expected, JsonElement model)
    {
        var answer = await platform.ExpectAsync(expected, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/{name}/status", key, new { status }, IfMatch(model));
        return expected == HttpStatusCode.OK ? answer : model;
    }

    private static Dictionary<string, string> IfMatch(JsonElement model) => IfMatch(model.GetProperty("eTag").GetInt64());

    private static Dictionary<string, string> IfMatch(long etag) => new() { ["If-Match"] = $"\"{etag}\"" };
}
