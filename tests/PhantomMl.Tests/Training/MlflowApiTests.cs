using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>
/// The MLflow-compatible API of a real silo: a real third-party MLflow client (npm 'mlflow', installed by the test command)
/// through a whole workflow, MLflow's error format, and other tenants' experiments, runs, models and files.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class MlflowApiTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private const string Mlflow = "/api/2.0/mlflow";

    [Fact]
    public async Task A_real_MLflow_client_runs_the_whole_workflow_and_the_platform_holds_what_it_logged()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("mlflow-client");
        var seen = await RunWorkflowAsync(key, "churn-experiment");

        Assert.Equal("churn-experiment", seen.GetProperty("experiment").GetProperty("name").GetString());
        var ids = seen.GetProperty("ids");
        var runId = ids.GetProperty("runId").GetString()!;
        // A parameter keeps its first value, as in MLflow.
        Assert.Equal((400, "INVALID_PARAMETER_VALUE"), Failure(seen.GetProperty("changedParam")));
        // 5,000 of the 10,000 points are loss, read back in step order with their values and times.
        var history = seen.GetProperty("lossHistory");
        Assert.Equal(5000, history.GetProperty("count").GetInt32());
        Assert.Equal((0L, 1.0), (history.GetProperty("first").GetProperty("step").GetInt64(), history.GetProperty("first").GetProperty("value").GetDouble()));
        Assert.Equal(4999, history.GetProperty("last").GetProperty("step").GetInt64());
        Assert.Equal(1.0 / 5000, history.GetProperty("last").GetProperty("value").GetDouble(), 1e-12);
        // The filter keeps the run with lr 0.01 and leaves out the other; two pages of one run each hold both runs.
        Assert.Equal([runId], seen.GetProperty("search").EnumerateArray().Select(r => r.GetString()));
        var pages = seen.GetProperty("pages");
        Assert.Equal(new[] { runId, ids.GetProperty("other").GetString() }.Order(),
            pages[0].EnumerateArray().Concat(pages[1].EnumerateArray()).Select(r => r.GetString()).Order());
        Assert.Equal(JsonValueKind.Null, pages[2].ValueKind);
        // The file went up, is listed with its size, and came back the same.
        Assert.Equal(200, seen.GetProperty("uploadStatus").GetInt32());
        var listed = Assert.Single(seen.GetProperty("listing").EnumerateArray());
        Assert.Equal(("model/weights.txt", false, 1009L), (listed.GetProperty("path").GetString(), listed.GetProperty("is_dir").GetBoolean(),
            listed.GetProperty("file_size").GetInt64()));
        Assert.True(seen.GetProperty("downloaded").GetBoolean());

        var run = seen.GetProperty("run");
        Assert.Equal(("FINISHED", "baseline"), (run.GetProperty("info").GetProperty("status").GetString(), run.GetProperty("info").GetProperty("run_name").GetString()));
        Assert.Equal(["epochs=50", "lr=0.01", "optimizer=adam"], Pairs(run.GetProperty("data").GetProperty("params")));
        Assert.Equal(["mlflow.runName=baseline", "stage=tuned", "team=vision"], Pairs(run.GetProperty("data").GetProperty("tags")));
        Assert.Equal(["accuracy@4999", "loss@4999"], run.GetProperty("data").GetProperty("metrics").EnumerateArray()
            .Select(m => $"{m.GetProperty("key").GetString()}@{m.GetProperty("step").GetInt64()}"));

        var version = seen.GetProperty("byAlias");
        Assert.Equal(("1", runId), (version.GetProperty("version").GetString(), version.GetProperty("run_id").GetString()));
        Assert.Equal(["champion"], version.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("from the workflow", seen.GetProperty("registered").GetProperty("description").GetString());
        Assert.Equal((404, "RESOURCE_DOES_NOT_EXIST"), Failure(seen.GetProperty("missingRun")));

        // The platform's own API sees the same: the run is a completed training job with its parameters, its points are in
        // ClickHouse, the version and alias are in the registry, and the audit trail has the run's start.
        var job = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/training-jobs/{Guid.ParseExact(runId, "N")}", key);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Contains("\"optimizer\": \"adam\"", job.GetProperty("hyperparameters").GetString());
        foreach (var metric in new[] { "loss", "accuracy" })
        {
            var stored = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{tenant}/training-jobs/{Guid.ParseExact(runId, "N")}/metrics/{metric}?maxPoints=10", key);
            Assert.Equal(5000, stored.GetProperty("totalPoints").GetInt64());
        }

        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/{ids.GetProperty("model").GetString()}", key);
        Assert.Equal("1", model.GetProperty("aliases").GetProperty("champion").GetString());
        Assert.Contains(await platform.AuditAsync(tenant), row => row.GetProperty("action").GetString() == "start-run"
            && row.GetProperty("resourceId").GetString() == Guid.ParseExact(runId, "N").ToString());
    }

    [Fact]
    public async Task Errors_come_in_MLflow_format_with_MLflow_statuses_and_change_nothing()
    {
        var (_, key) = await platform.CreateTenantWithAdminAsync("mlflow-errors");
        var experiment = await CreateExperimentAsync(key, "errors");
        var run = await CreateRunAsync(key, experiment);

        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/runs/get?run_id={new string('a', 32)}", key);
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/runs/get?run_id=../../etc", key);
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/experiments/get?experiment_id=12345", key);
        await ExpectErrorAsync(HttpStatusCode.NotFound, "ENDPOINT_NOT_FOUND", HttpMethod.Get, $"{Mlflow}/runs/nothing-here", key);
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/experiments/create", key, "{\"name\":");
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/experiments/create", key, "{}");
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/experiments/create", key, "[1]");
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS", HttpMethod.Post, $"{Mlflow}/experiments/create", key,
            new { name = "errors" });
        // No key at all ("" sends no Authorization header).
        await ExpectErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHENTICATED", HttpMethod.Get, $"{Mlflow}/experiments/get?experiment_id=0", "");
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/log-metric", key,
            new { run_id = run, key = "loss", value = 1.0, timestamp = 1, step = "abc" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/log-metric", key,
            new { run_id = run, key = "../loss", value = 1.0, timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/search", key,
            new { experiment_ids = new[] { experiment }, filter = "metrics.loss LIKE '1'" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/search", key,
            new { experiment_ids = new[] { experiment }, filter = "attributes.nonsense = 'x'" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/search", key,
            new { experiment_ids = new[] { experiment }, order_by = Enumerable.Repeat("metrics.loss DESC", 21).ToArray() });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_STATE", HttpMethod.Post, $"{Mlflow}/runs/update", key,
            new { run_id = run, status = "FINISHED" }, then: (HttpMethod.Post, $"{Mlflow}/runs/update", new { run_id = run, status = "RUNNING" }));
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Post, $"{Mlflow}/registered-models/rename", key,
            new { name = "a", new_name = "b" });

        // Paths that try to leave the run's folder are refused and store nothing (what HTTP itself normalizes away, as "./",
        // never reaches the silo; TrackingValidationTests covers the path rules whole).
        var proxy = $"/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run}/artifacts";
        foreach (var trick in new[] { "../escape.txt", "a/../../../b.txt", "a//b", "a/b//" })
        {
            using var response = await platform.SendAsync(HttpMethod.Put, $"{proxy}/{trick}", key, new ByteArrayContent([1, 2, 3]));
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{trick}: {(int)response.StatusCode}");
            Assert.Contains("\"error_code\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        var listing = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/artifacts/list?run_id={run}", key);
        Assert.Empty(listing.GetProperty("files").EnumerateArray());
        var logged = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/runs/get?run_id={run}", key);
        Assert.Empty(logged.GetProperty("run").GetProperty("data").GetProperty("metrics").EnumerateArray());
    }

    [Fact]
    public async Task Another_tenants_experiments_runs_models_and_files_do_not_exist()
    {
        var (_, owner) = await platform.CreateTenantWithAdminAsync("mlflow-owner");
        var (_, stranger) = await platform.CreateTenantWithAdminAsync("mlflow-stranger");
        var experiment = await CreateExperimentAsync(owner, "private-experiment");
        var run = await CreateRunAsync(owner, experiment);
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/log-metric", owner,
            new { run_id = run, key = "loss", value = 0.5, timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), step = 1 });
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/create", owner, new { name = "private-model" });
        var proxy = $"/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run}/artifacts/secret.txt";
        using (var upload = await platform.SendAsync(HttpMethod.Put, proxy, owner, new ByteArrayContent(Encoding.UTF8.GetBytes("secret"))))
        {
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        }

        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (HttpMethod.Get, $"{Mlflow}/experiments/get?experiment_id={experiment}", null),
            (HttpMethod.Get, $"{Mlflow}/experiments/get-by-name?experiment_name=private-experiment", null),
            (HttpMethod.Post, $"{Mlflow}/experiments/delete", new { experiment_id = experiment }),
            (HttpMethod.Get, $"{Mlflow}/runs/get?run_id={run}", null),
            (HttpMethod.Post, $"{Mlflow}/runs/log-metric", new { run_id = run, key = "loss", value = 9.0, timestamp = 1_700_000_000_000, step = 2 }),
            (HttpMethod.Post, $"{Mlflow}/runs/log-batch", new { run_id = run, @params = new[] { new { key = "x", value = "y" } } }),
            (HttpMethod.Post, $"{Mlflow}/runs/set-tag", new { run_id = run, key = "x", value = "y" }),
            (HttpMethod.Post, $"{Mlflow}/runs/update", new { run_id = run, status = "KILLED" }),
            (HttpMethod.Post, $"{Mlflow}/runs/delete", new { run_id = run }),
            (HttpMethod.Get, $"{Mlflow}/metrics/get-history?run_id={run}&metric_key=loss", null),
            (HttpMethod.Get, $"{Mlflow}/artifacts/list?run_id={run}", null),
            (HttpMethod.Get, proxy, null),
            (HttpMethod.Get, $"{Mlflow}/registered-models/get?name=private-model", null),
            (HttpMethod.Post, $"{Mlflow}/model-versions/create", new { name = "private-model", source = "x" }),
        })
        {
            await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", method, path, stranger, body);
        }

        var search = await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/search", stranger, new { experiment_ids = new[] { experiment } });
        Assert.False(search.TryGetProperty("runs", out _));
        // Nothing the stranger sent reached the owner's run.
        var owned = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/runs/get?run_id={run}", owner);
        Assert.Equal(("RUNNING", "active"), (owned.GetProperty("run").GetProperty("info").GetProperty("status").GetString(),
            owned.GetProperty("run").GetProperty("info").GetProperty("lifecycle_stage").GetString()));
        var history = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/metrics/get-history?run_id={run}&metric_key=loss", owner);
        Assert.Equal([0.5], history.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("value").GetDouble()));
        Assert.Empty(owned.GetProperty("run").GetProperty("data").GetProperty("params").EnumerateArray());
    }

    [Fact]
    public async Task A_log_batch_of_thousands_of_metrics_lands_once_even_when_retried_with_its_idempotency_key()
    {
        var (_, key) = await platform.CreateTenantWithAdminAsync("mlflow-batch");
        var run = await CreateRunAsync(key, await CreateExperimentAsync(key, "batches"));
        var metrics = Enumerable.Range(0, 5000).Select(step => new { key = "loss", value = 1.0 / (step + 1), timestamp = 1_764_000_000_000L + step, step })
            .ToArray();
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "batch-1" };
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/log-batch", key, new { run_id = run, metrics }, headers);
        }

        var first = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/metrics/get-history?run_id={run}&metric_key=loss&max_results=3000", key);
        Assert.Equal(3000, first.GetProperty("metrics").GetArrayLength());
        var token = first.GetProperty("next_page_token").GetString();
        var rest = await ExpectOkAsync(HttpMethod.Get,
            $"{Mlflow}/metrics/get-history?run_id={run}&metric_key=loss&max_results=3000&page_token={Uri.EscapeDataString(token!)}", key);
        Assert.Equal(2000, rest.GetProperty("metrics").GetArrayLength());
        Assert.False(rest.TryGetProperty("next_page_token", out _));
        Assert.Equal(Enumerable.Range(0, 5000).Select(step => (long)step),
            first.GetProperty("metrics").EnumerateArray().Concat(rest.GetProperty("metrics").EnumerateArray()).Select(m => m.GetProperty("step").GetInt64()));

        var sampled = await ExpectOkAsync(HttpMethod.Get,
            $"{Mlflow}/metrics/get-history-bulk-interval?run_ids={run}&metric_key=loss&start_step=100&end_step=199&max_results=10", key);
        var steps = sampled.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("step").GetInt64()).ToList();
        Assert.InRange(steps.Count, 2, 10);
        Assert.Equal((100L, 199L), (steps[0], steps[^1]));
        Assert.Equal(steps.Order(), steps);
    }

    [Fact]
    public async Task Deleting_an_experiment_deletes_its_runs_and_restoring_it_brings_back_only_those()
    {
        var (_, key) = await platform.CreateTenantWithAdminAsync("mlflow-lifecycle");
        var experiment = await CreateExperimentAsync(key, "lifecycle");
        var kept = await CreateRunAsync(key, experiment);
        var deletedBefore = await CreateRunAsync(key, experiment);
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/delete", key, new { run_id = deletedBefore });
        // A deleted run takes no changes until restored, as in MLflow.
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/update", key,
            new { run_id = deletedBefore, status = "FINISHED" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/set-tag", key,
            new { run_id = deletedBefore, key = "k", value = "v" });
        Assert.Equal([kept], await SearchAsync(key, experiment, "ACTIVE_ONLY"));
        Assert.Equal([deletedBefore], await SearchAsync(key, experiment, "DELETED_ONLY"));

        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/experiments/delete", key, new { experiment_id = experiment });
        var deleted = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/experiments/get?experiment_id={experiment}", key);
        Assert.Equal("deleted", deleted.GetProperty("experiment").GetProperty("lifecycle_stage").GetString());
        Assert.Empty(await SearchAsync(key, experiment, "ACTIVE_ONLY"));
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/runs/create", key,
            new { experiment_id = experiment });

        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/experiments/restore", key, new { experiment_id = experiment });
        Assert.Equal([kept], await SearchAsync(key, experiment, "ACTIVE_ONLY"));
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/restore", key, new { run_id = deletedBefore });
        Assert.Equal(new[] { kept, deletedBefore }.Order(), (await SearchAsync(key, experiment, "ALL")).Order());
    }

    [Fact]
    public async Task The_registry_numbers_versions_maps_stages_and_keeps_descriptions_and_tags()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("mlflow-registry");
        var run = await CreateRunAsync(key, await CreateExperimentAsync(key, "registry"));
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/create", key,
            new { name = "scorer", description = "first", tags = new[] { new { key = "team", value = "risk" } } });

        // Ten clients register at once: MLflow's numbers 1 to 10, each once.
        var created = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/create", key,
            new { name = "scorer", source = $"{TrackedUri(run)}/model-{i}", run_id = run })));
        Assert.Equal(Enumerable.Range(1, 10), created.Select(v => int.Parse(v.GetProperty("model_version").GetProperty("version").GetString()!,
            System.Globalization.CultureInfo.InvariantCulture)).Order());

        await ExpectOkAsync(HttpMethod.Patch, $"{Mlflow}/model-versions/update", key, new { name = "scorer", version = "3", description = "tuned" });
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/set-tag", key, new { name = "scorer", version = "3", key = "validated", value = "yes" });
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/set-tag", key, new { name = "scorer", version = "3", key = "scratch", value = "x" });
        await ExpectOkAsync(HttpMethod.Delete, $"{Mlflow}/model-versions/delete-tag", key, new { name = "scorer", version = "3", key = "scratch" });
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Delete, $"{Mlflow}/model-versions/delete-tag", key,
            new { name = "scorer", version = "3", key = "scratch" });
        var three = (await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/model-versions/get?name=scorer&version=3", key)).GetProperty("model_version");
        Assert.Equal(("tuned", run), (three.GetProperty("description").GetString(), three.GetProperty("run_id").GetString()));
        Assert.Equal(["validated=yes"], Pairs(three.GetProperty("tags")));
        var tagged = await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/model-versions/search?filter={Uri.EscapeDataString("name = 'scorer' and tags.validated = 'yes'")}", key);
        Assert.Equal(["3"], tagged.GetProperty("model_versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));

        // Stages: Production is the active version, Staging the staging alias, Archived an archived version, None none of these.
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key, new { name = "scorer", version = "2", stage = "Production" });
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key, new { name = "scorer", version = "3", stage = "Staging" });
        var latest = await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/get-latest-versions", key, new { name = "scorer" });
        Assert.Equal(["2:Production", "3:Staging", "10:None"], latest.GetProperty("model_versions").EnumerateArray()
            .Select(v => $"{v.GetProperty("version").GetString()}:{v.GetProperty("current_stage").GetString()}"));
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/scorer", key);
        Assert.Equal(("2", "3"), (model.GetProperty("activeVersion").GetString(), model.GetProperty("aliases").GetProperty("staging").GetString()));
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key, new { name = "scorer", version = "3", stage = "None" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_STATE", HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key,
            new { name = "scorer", version = "2", stage = "None" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_STATE", HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key,
            new { name = "scorer", version = "2", stage = "Archived" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key,
            new { name = "scorer", version = "4", stage = "Retired" });
        Assert.Equal("Archived", await TransitionAsync(key, "4", "Archived"));
        Assert.Equal("Staging", await TransitionAsync(key, "5", "Staging"));
        // Staging with archive_existing_versions: the version that was staged is archived; an archived version can be staged again.
        Assert.Equal("Staging", await TransitionAsync(key, "6", "Staging", archiveExisting: true));
        Assert.Equal("Staging", await TransitionAsync(key, "4", "Staging"));
        Assert.Equal("Archived", await TransitionAsync(key, "4", "Archived"));
        Assert.Equal("Staging", await TransitionAsync(key, "6", "Staging"));
        // A staged version promoted to Production leaves Staging, and is None once another version serves.
        Assert.Equal("Production", await TransitionAsync(key, "6", "Production"));
        Assert.Equal("Production", await TransitionAsync(key, "2", "Production"));
        Assert.Equal("None", (await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/model-versions/get?name=scorer&version=6", key))
            .GetProperty("model_version").GetProperty("current_stage").GetString());
        Assert.Equal("Staging", await TransitionAsync(key, "6", "Staging"));
        // Production with archive_existing_versions: the version that served is archived, and serves again when promoted back.
        Assert.Equal("Production", await TransitionAsync(key, "7", "Production", archiveExisting: true));
        Assert.Equal("Production", await TransitionAsync(key, "2", "Production"));
        Assert.Equal("None", await TransitionAsync(key, "7", "None"));
        Assert.Equal(["2:Production", "3:None", "4:Archived", "5:Archived", "6:Staging", "7:None"], await StagesAsync(key, "scorer", 2, 7));
        var archived = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/scorer/versions/4", key);
        Assert.NotEqual(JsonValueKind.Null, archived.GetProperty("archivedAt").ValueKind);
        latest = await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/get-latest-versions", key, new { name = "scorer", stages = new[] { "Archived" } });
        Assert.Equal(["5"], latest.GetProperty("model_versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));

        // Rename: the versions, stages and aliases go along; the old name is gone; a taken name is refused.
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/create", key, new { name = "occupied" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "RESOURCE_ALREADY_EXISTS", HttpMethod.Post, $"{Mlflow}/registered-models/rename", key,
            new { name = "scorer", new_name = "occupied" });
        await ExpectErrorAsync(HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE", HttpMethod.Post, $"{Mlflow}/registered-models/rename", key,
            new { name = "scorer" });
        var renamed = (await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/rename", key, new { name = "scorer", new_name = "scorer-v2" }))
            .GetProperty("registered_model");
        Assert.Equal("scorer-v2", renamed.GetProperty("name").GetString());
        Assert.Equal(["2:Production", "3:None", "4:Archived", "5:Archived", "6:Staging", "7:None"], await StagesAsync(key, "scorer-v2", 2, 7));
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/registered-models/get?name=scorer", key);
        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/rename", key, new { name = "scorer-v2", new_name = "scorer" });

        await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/set-tag", key, new { name = "scorer", key = "owner", value = "ana" });
        await ExpectOkAsync(HttpMethod.Delete, $"{Mlflow}/registered-models/delete-tag", key, new { name = "scorer", key = "team" });
        await ExpectOkAsync(HttpMethod.Patch, $"{Mlflow}/registered-models/update", key, new { name = "scorer", description = "second" });
        var registered = (await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/registered-models/get?name=scorer", key)).GetProperty("registered_model");
        Assert.Equal("second", registered.GetProperty("description").GetString());
        Assert.Equal(["owner=ana"], Pairs(registered.GetProperty("tags")));
        var found = await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/registered-models/search", key, new { filter = "name LIKE 'sco%'" });
        Assert.Equal(["scorer"], found.GetProperty("registered_models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));

        await ExpectOkAsync(HttpMethod.Delete, $"{Mlflow}/model-versions/delete", key, new { name = "scorer", version = "10" });
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/model-versions/get?name=scorer&version=10", key);
        await ExpectOkAsync(HttpMethod.Delete, $"{Mlflow}/registered-models/delete", key, new { name = "scorer" });
        await ExpectErrorAsync(HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST", HttpMethod.Get, $"{Mlflow}/registered-models/get?name=scorer", key);
    }

    private static string TrackedUri(string run) => $"runs:/{run}";

    /// <summary>Moves a version of "scorer" to a stage; answers the stage the answer reports.</summary>
    private async Task<string?> TransitionAsync(string key, string version, string stage, bool archiveExisting = false) =>
        (await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/model-versions/transition-stage", key,
            new { name = "scorer", version, stage, archive_existing_versions = archiveExisting }))
        .GetProperty("model_version").GetProperty("current_stage").GetString();

    /// <summary>"version:stage" of a model's versions first..last, as model-versions/get reports them.</summary>
    private async Task<string[]> StagesAsync(string key, string model, int first, int last) =>
        await Task.WhenAll(Enumerable.Range(first, last - first + 1).Select(async version =>
            $"{version}:{(await ExpectOkAsync(HttpMethod.Get, $"{Mlflow}/model-versions/get?name={model}&version={version}", key))
                .GetProperty("model_version").GetProperty("current_stage").GetString()}"));

    private async Task<JsonElement> RunWorkflowAsync(string key, string experimentName)
    {
        var client = Path.Combine(SiloProcess.RepositoryRoot(), "tests", "mlflow-client");
        Assert.True(Directory.Exists(Path.Combine(client, "node_modules", "mlflow")),
            "The npm MLflow client is missing: scripts/setup.sh installs it (npm ci in tests/mlflow-client).");
        var start = new ProcessStartInfo("node", ["workflow.cjs", experimentName])
        {
            WorkingDirectory = client,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["MLFLOW_TRACKING_URI"] = platform.Silo.BaseAddress.ToString().TrimEnd('/'),
                ["MLFLOW_TRACKING_TOKEN"] = key,
            },
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"the MLflow client failed ({node.ExitCode}): {await errors}");
        return JsonDocument.Parse(await output).RootElement.Clone();
    }

    private async Task<string> CreateExperimentAsync(string key, string name) =>
        (await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/experiments/create", key, new { name })).GetProperty("experiment_id").GetString()!;

    private async Task<string> CreateRunAsync(string key, string experiment) =>
        (await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/create", key, new { experiment_id = experiment }))
        .GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;

    private async Task<string[]> SearchAsync(string key, string experiment, string viewType)
    {
        var found = await ExpectOkAsync(HttpMethod.Post, $"{Mlflow}/runs/search", key, new { experiment_ids = new[] { experiment }, run_view_type = viewType });
        return found.TryGetProperty("runs", out var runs) ? runs.EnumerateArray().Select(r => r.GetProperty("info").GetProperty("run_id").GetString()!).ToArray()
            : [];
    }

    private async Task<JsonElement> ExpectOkAsync(HttpMethod method, string path, string key, object? body = null,
        IDictionary<string, string>? headers = null)
    {
        using var response = await platform.SendAsync(method, path, key, body, headers);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Sends (after <paramref name="then"/>'s setup call, if any) and expects MLflow's error body with that status and code.</summary>
    private async Task ExpectErrorAsync(HttpStatusCode status, string code, HttpMethod method, string path, string? key, object? body = null,
        (HttpMethod Method, string Path, object Body)? then = null)
    {
        if (then is { } setup)
        {
            await ExpectOkAsync(method, path, key!, body);
            (method, path, body) = setup;
        }

        using var response = await platform.SendAsync(method, path, key, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{method} {path}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        var error = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, error.GetProperty("error_code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    private static (int, string?) Failure(JsonElement failure) =>
        (failure.GetProperty("status").GetInt32(), failure.GetProperty("error_code").GetString());

    private static string[] Pairs(JsonElement pairs) =>
        pairs.EnumerateArray().Select(p => $"{p.GetProperty("key").GetString()}={p.GetProperty("value").GetString()}").ToArray();
}
