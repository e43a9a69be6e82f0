using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Inference;

/// <summary>
/// Serving beyond one answer: every request recorded in PostgreSQL and ClickHouse, traffic splits and shadows visible
/// per version in the analytics, the request quota, and batch inference over 100,000 rows.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ServingTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    private static readonly Lazy<Task<byte[]>> Onnx = new(() => SampleDatasets.TrainBinaryOnnxAsync(rows: 2000, seed: 5, trees: 20));

    [Fact]
    public async Task Requests_are_recorded_in_both_stores_and_the_analytics_show_the_split_and_the_shadow_per_version()
    {
        // Every request is mirrored here: room for all of them in flight, however slowly shadows are scored on a loaded
        // machine (past the bound shadows are skipped and counted, by design; a basic tenant's bound is 4).
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("serving", new { concurrent_shadow_scorings = 256 });
        await RegisterModelAsync(tenant, key, "ranker", "1", "2", "3");
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker", key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live", key, new { version = "1" }, IfMatch(model));

        // Bad traffic rules change nothing.
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live/traffic", key,
            new { challenger = "2", challengerPercent = 101 }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live/traffic", key,
            new { challenger = "1", challengerPercent = 10 }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live/traffic", key,
            new { challenger = "9", challengerPercent = 10 }, IfMatch(model));
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live/traffic", key,
            new { challenger = "2", challengerPercent = 50, shadow = "3" }, IfMatch(model));
        Assert.Equal(("2", 50, "3"), (model.GetProperty("traffic").GetProperty("live").GetProperty("challenger").GetString(),
            model.GetProperty("traffic").GetProperty("live").GetProperty("challengerPercent").GetInt32(),
            model.GetProperty("traffic").GetProperty("live").GetProperty("shadow").GetString()));

        const int Requests = 200;
        var answeredBy = new string[Requests];
        await Parallel.ForEachAsync(Enumerable.Range(0, Requests), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = TestContext.Current.CancellationToken },
            async (i, _) =>
            {
                var answer = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/ranker/versions/live/predict", key,
                    new { rows = new[] { Row(i / 100.0), Row(-i / 100.0) }, bypassCache = true });
                answeredBy[i] = $"{answer.GetProperty("version").GetString()}/{answer.GetProperty("route").GetString()}";
            });
        var challenged = answeredBy.Count(a => a == "2/challenger");
        Assert.Equal(Requests, answeredBy.Count(a => a == "1/primary") + challenged);
        Assert.InRange(challenged, 50, 150); // 50% of 200: far outside this range is a broken split, not chance

        // ClickHouse: one row per prediction (two per request), per version and route, the shadow's included.
        var seen = "nothing";
        var analytics = await PollAsync(async () =>
        {
            var found = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics?bucketSeconds=60", key);
            seen = string.Join(", ", found.GetProperty("versions").EnumerateArray().Select(v =>
                $"{v.GetProperty("version").GetString()}/{v.GetProperty("route").GetString()}: {v.GetProperty("requests").GetInt64()}"));
            return found.GetProperty("versions").EnumerateArray().Sum(v => v.GetProperty("requests").GetInt64()) == 2 * Requests ? found : (JsonElement?)null;
        }, TimeSpan.FromSeconds(90), () => $"{2 * Requests} requests in the analytics; last seen {seen}");
        var versions = analytics.GetProperty("versions").EnumerateArray().ToDictionary(v => $"{v.GetProperty("version").GetString()}/{v.GetProperty("route").GetString()}");
        Assert.Equal(["1/primary", "2/challenger", "3/shadow"], versions.Keys.Order());
        Assert.Equal(Requests - challenged, versions["1/primary"].GetProperty("requests").GetInt64());
        Assert.Equal(challenged, versions["2/challenger"].GetProperty("requests").GetInt64());
        Assert.Equal(Requests, versions["3/shadow"].GetProperty("requests").GetInt64());
        foreach (var version in versions.Values)
        {
            Assert.Equal(2 * version.GetProperty("requests").GetInt64(), version.GetProperty("predictions").GetInt64());
            // A classifier: every prediction has a confidence, at least 0.5, so the bins below 0.5 are empty.
            var bins = version.GetProperty("confidenceBins").EnumerateArray().Select(b => b.GetInt64()).ToList();
            Assert.Equal(version.GetProperty("predictions").GetInt64(), bins.Sum());
            Assert.Equal(0, bins.Take(5).Sum());
            Assert.InRange(version.GetProperty("meanConfidence").GetDouble(), 0.5, 1.0);
            Assert.True(version.GetProperty("p99Ms").GetDouble() >= version.GetProperty("p50Ms").GetDouble());
            Assert.True(version.GetProperty("p50Ms").GetDouble() > 0);
            var buckets = version.GetProperty("buckets").EnumerateArray().ToList();
            Assert.Equal(version.GetProperty("predictions").GetInt64(), buckets.Sum(b => b.GetProperty("predictions").GetInt64()));
        }

        // One version only; a window without requests is empty; bad windows are 400.
        var onlyShadow = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics?version=3", key);
        Assert.Equal(["3"], onlyShadow.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        var past = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z", key);
        Assert.Empty(past.GetProperty("versions").EnumerateArray());
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z", key);
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics?bucketSeconds=1&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z", key);

        // PostgreSQL: one inference_jobs row per request and route, with the request's rows and answers.
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        var recorded = await PollAsync(async () =>
        {
            var count = await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId, "SELECT count(*) FROM inference_jobs WHERE batch_id IS NULL");
            return count == 2 * Requests ? count : (long?)null;
        });
        Assert.Equal(2 * Requests, recorded);
        var routes = await TenantSql.InTransactionAsync(platform.Databases.OwnerSource, tenantId, async (connection, transaction) =>
        {
            await using var command = new Npgsql.NpgsqlCommand("""
                SELECT model_version || '/' || (metadata ->> 'route'), count(*), min(jsonb_array_length(input_data)), min(jsonb_array_length(prediction)),
                       bool_and(status = 'completed' AND confidence_score >= 0.5 AND created_by = 'admin' AND metadata ->> 'alias' = 'live')
                  FROM inference_jobs WHERE batch_id IS NULL GROUP BY 1 ORDER BY 1
                """, connection, transaction);
            await using var reader = await command.ExecuteReaderAsync();
            var found = new List<string>();
            while (await reader.ReadAsync())
            {
                found.Add($"{reader.GetString(0)}:{reader.GetInt64(1)}:{reader.GetInt32(2)}:{reader.GetInt32(3)}:{reader.GetBoolean(4)}");
            }

            return found;
        });
        Assert.Equal([$"1/primary:{Requests - challenged}:2:2:True", $"2/challenger:{challenged}:2:2:True", $"3/shadow:{Requests}:2:2:True"], routes);

        // Moving the alias ends its split; another tenant sees neither the analytics nor the model.
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker", key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/ranker/aliases/live", key, new { version = "2" }, IfMatch(model));
        Assert.False(model.TryGetProperty("traffic", out var traffic) && traffic.ValueKind == JsonValueKind.Object);
        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("servingspy");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/ranker/analytics", otherKey);
    }

    [Fact]
    public async Task The_monthly_request_quota_is_enforced_and_counted_and_bad_requests_do_not_use_it()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("quota", new { inference_requests = 3 });
        await RegisterModelAsync(tenant, key, "metered", "1");
        var path = $"/api/v1/tenants/{tenant}/models/metered/versions/1/predict";
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, path, key, new { rows = new[] { new Dictionary<string, double> { ["x1"] = 1 } } });
        for (var i = 0; i < 3; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, path, key, new { rows = new[] { Row(i) }, bypassCache = true });
        }

        var refused = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, path, key, new { rows = new[] { Row(7) }, bypassCache = true });
        Assert.Equal("inference_requests", refused.GetProperty("quota").GetString());
        var usage = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/quotas", key);
        var requests = usage.EnumerateArray().Single(q => q.GetProperty("resource").GetString() == "inference_requests");
        Assert.Equal((3, 3), (requests.GetProperty("used").GetInt64(), requests.GetProperty("limit").GetInt64()));
    }

    [Fact]
    public async Task A_100000_row_batch_scores_every_row_in_order_reports_bad_rows_and_can_be_cancelled()
    {
        // Batches run one at a time for a basic tenant; this test has two alive at once.
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("batch", new { concurrent_batch_runs = 4 });
        await RegisterModelAsync(tenant, key, "scorer", "1");
        const int Rows = 100_000;
        var csv = Encoding.UTF8.GetString(await SampleDatasets.GenerateAsync("binary", Rows, seed: 21)).TrimEnd('\n');
        // Two rows that cannot be scored, at known places: a word for a number, and a missing field.
        var lines = csv.Split('\n').ToList();
        lines.Insert(11, "0.1,high,0.3,0.4,0.5,1");
        lines.Insert(501, "0.1,0.2,0.3");
        await UploadDatasetAsync(tenant, key, "inputs", "1", string.Join('\n', lines) + "\n");

        // A version whose artifact is not a model cannot be served: 400, not a server error.
        var notAModel = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/inputs/versions/1/predict", key,
            new { rows = new[] { Row(1) } });
        Assert.Contains("cannot load as a model", notAModel.GetProperty("detail").GetString());
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "s3://elsewhere/data.csv" });
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://nothing/versions/1" });
        var submitted = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" });
        var batchPath = $"/api/v1/tenants/{tenant}/batches/{submitted.GetProperty("id").GetString()}";

        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("batchspy");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, batchPath, otherKey);

        var done = await PollAsync(async () =>
        {
            var batch = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, batchPath, key);
            return batch.GetProperty("status").GetString() is "completed" or "failed" or "cancelled" ? batch : (JsonElement?)null;
        }, TimeSpan.FromMinutes(4));
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal((Rows + 2L, (long)Rows, 2L, 1.0), (done.GetProperty("totalRows").GetInt64(), done.GetProperty("processedRows").GetInt64(),
            done.GetProperty("failedRows").GetInt64(), done.GetProperty("progress").GetDouble()));

        // The output: the header plus every scored row, in input order, each with its prediction and confidence.
        var output = (await (await platform.SendAsync(HttpMethod.Get, $"{batchPath}/output", key)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken))
            .TrimEnd('\n').Split('\n');
        Assert.Equal(Rows + 1, output.Length);
        Assert.Equal("x1,x2,x3,x4,x5,label,prediction,confidence", output[0]);
        var scoredInputs = lines.Skip(1).Where(line => line != "0.1,high,0.3,0.4,0.5,1" && line != "0.1,0.2,0.3").ToList();
        Assert.Equal(scoredInputs, output.Skip(1).Select(line => string.Join(',', line.Split(',')[..6])));

        // ...and the same answers as online predictions of the same rows.
        var sample = output.Skip(1).Take(50).Select(line => line.Split(',')).ToList();
        var online = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/1/predict", key,
            new { rows = sample.Select(f => Enumerable.Range(0, 5).ToDictionary(i => $"x{i + 1}", i => double.Parse(f[i], CultureInfo.InvariantCulture))) });
        var onlinePredictions = online.GetProperty("predictions").EnumerateArray().ToList();
        for (var i = 0; i < sample.Count; i++)
        {
            Assert.Equal(onlinePredictions[i].GetProperty("prediction").GetDouble(), double.Parse(sample[i][6], CultureInfo.InvariantCulture));
            Assert.Equal(onlinePredictions[i].GetProperty("confidence").GetDouble(), double.Parse(sample[i][7], CultureInfo.InvariantCulture), 6);
        }

        var errors = (await (await platform.SendAsync(HttpMethod.Get, $"{batchPath}/errors", key)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken))
            .TrimEnd('\n').Split('\n');
        Assert.Equal(3, errors.Length);
        Assert.Equal("11,\"'x2' is 'high', not a finite number.\"", errors[1]); // CSV-quoted: the reason has a comma
        Assert.Equal("501,The row has 3 fields; the header has 6.", errors[2]);

        // Every scored row is an inference_jobs row of the batch.
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        Assert.Equal(Rows, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            $"SELECT count(*) FROM inference_jobs WHERE batch_id = '{submitted.GetProperty("id").GetString()}'"));

        // The same submission retried with its Idempotency-Key is the same batch; the key with another submission is 409.
        var retryHeaders = new Dictionary<string, string> { ["Idempotency-Key"] = "nightly-2026-11-29" };
        var once = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" }, retryHeaders);
        var again = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" }, retryHeaders);
        Assert.Equal(once.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://scorer/versions/1" }, retryHeaders);
        // A batch that finished cannot be cancelled.
        var oncePath = $"/api/v1/tenants/{tenant}/batches/{once.GetProperty("id").GetString()}";
        await WaitForBatchAsync(oncePath, key, "completed");
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{oncePath}/cancel", key);

        // A second batch, cancelled while it runs: it stops, writes no output, and cannot be cancelled twice.
        var second = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, $"/api/v1/tenants/{tenant}/batches", key,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" });
        var secondPath = $"/api/v1/tenants/{tenant}/batches/{second.GetProperty("id").GetString()}";
        var cancelled = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{secondPath}/cancel", key);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        await platform.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, $"{secondPath}/cancel", key);
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        var after = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, secondPath, key);
        Assert.Equal(("cancelled", JsonValueKind.Null), (after.GetProperty("status").GetString(), after.GetProperty("outputPath").ValueKind));
        Assert.True(after.GetProperty("processedRows").GetInt64() < Rows);
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"{secondPath}/output", key);
    }

    [Fact]
    public async Task The_SDK_splits_traffic_runs_and_downloads_batches_and_reads_analytics_and_cannot_reach_another_tenant()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("servingsdk", new { inference_requests = 1_000_000 });
        await RegisterModelAsync(tenant, key, "scorer", "1", "2");
        await UploadDatasetAsync(tenant, key, "inputs", "1", "x1,x2,x3,x4,x5\n0.1,0.2,0.3,0.4,0.5\n1,2,3,4,5\n-1,-2,-3,-4,-5\n");
        await using var client = await ConnectAsync(key);
        var ct = TestContext.Current.CancellationToken;

        var model = await client.GetModelAsync(tenant, "scorer", ct);
        model = await client.SetModelAliasAsync(tenant, "scorer", "live", "1", model.ETag, ct);
        model = await client.SetModelAliasTrafficAsync(tenant, "scorer", "live", challenger: "2", challengerPercent: 100, shadow: null, model.ETag, ct);
        Assert.Equal(new Grains.Models.AliasTraffic("2", 100, null), model.Traffic!["live"]);
        var answer = await client.PredictAsync(tenant, "scorer", "live", [Row(0.3)], bypassCache: true, ct);
        Assert.Equal(("2", "challenger"), (answer.Version, answer.Route));

        var batch = await client.SubmitBatchAsync(tenant, "scorer", "live", "model://inputs/versions/1", ct);
        Assert.Equal("1", batch.Version); // a batch is served by the alias's own version, pinned when submitted
        batch = await PollForAsync(async () => await client.GetBatchAsync(tenant, batch.Id, ct) is { Status: "completed" } done ? done : null);
        Assert.Equal((3L, 3L, 0L, null), (batch.TotalRows, batch.ProcessedRows, batch.FailedRows, batch.ErrorsPath));
        using var output = new MemoryStream();
        await client.DownloadBatchFileAsync(tenant, batch.Id, output, cancellationToken: ct);
        var lines = Encoding.UTF8.GetString(output.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("1,2,3,4,5,", lines[2]);
        await Assert.ThrowsAsync<Grains.PhantomException>(() => client.DownloadBatchFileAsync(tenant, batch.Id, new MemoryStream(), errors: true, ct));

        var analytics = await PollForAsync(async () => await client.GetServingAnalyticsAsync(tenant, "scorer", cancellationToken: ct) is { Versions.Count: > 0 } found ? found : null);
        Assert.Equal(("2", "challenger", 1L), (analytics.Versions[0].Version, analytics.Versions[0].Route, analytics.Versions[0].Requests));

        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("servingsdkspy");
        await using var spy = await ConnectAsync(otherKey);
        var refused = await Assert.ThrowsAsync<Grains.PhantomException>(() => spy.PredictAsync(tenant, "scorer", "1", [Row(0.3)], cancellationToken: ct));
        Assert.Equal(404, refused.Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<Grains.PhantomException>(() => spy.GetBatchAsync(tenant, batch.Id, ct))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<Grains.PhantomException>(() =>
            spy.DownloadBatchFileAsync(tenant, batch.Id, new MemoryStream(), cancellationToken: ct))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<Grains.PhantomException>(() => spy.GetServingAnalyticsAsync(tenant, "scorer", cancellationToken: ct))).Status);
    }

    [Fact]
    public async Task Serving_work_is_admitted_within_the_tenants_bounds_before_it_starts()
    {
        // Rows per request, and rows per month: counted, and refused once used up.
        var (rowsTenant, rowsKey) = await platform.CreateTenantWithAdminAsync("rowbounds", new { predict_rows_per_request = 3, inference_rows = 5 });
        await RegisterModelAsync(rowsTenant, rowsKey, "scorer", "1");
        var predict = $"/api/v1/tenants/{rowsTenant}/models/scorer/versions/1/predict";
        var tooMany = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, predict, rowsKey, new { rows = new[] { Row(1), Row(2), Row(3), Row(4) } });
        Assert.Contains("predict_rows_per_request", tooMany.GetProperty("detail").GetString());
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, predict, rowsKey, new { rows = new[] { Row(1), Row(2), Row(3) }, bypassCache = true });
        var monthly = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, predict, rowsKey,
            new { rows = new[] { Row(1), Row(2), Row(3) }, bypassCache = true });
        Assert.Equal("inference_rows", monthly.GetProperty("quota").GetString());

        // Shadow scorings are charged: with none left, serving goes on and nothing is mirrored.
        var (shadowTenant, shadowKey) = await platform.CreateTenantWithAdminAsync("shadowbounds", new { shadow_scorings = 0 });
        await RegisterModelAsync(shadowTenant, shadowKey, "scorer", "1", "2");
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{shadowTenant}/models/scorer", shadowKey);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{shadowTenant}/models/scorer/aliases/live", shadowKey,
            new { version = "1" }, IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{shadowTenant}/models/scorer/aliases/live/traffic", shadowKey,
            new { shadow = "2" }, IfMatch(model));
        for (var i = 0; i < 5; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{shadowTenant}/models/scorer/versions/live/predict", shadowKey,
                new { rows = new[] { Row(i) }, bypassCache = true });
        }

        var shadowTenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{shadowTenant}", shadowKey)).GetProperty("id").GetString()!);
        await PollAsync(async () => await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, shadowTenantId,
            "SELECT count(*) FROM inference_jobs WHERE metadata ->> 'route' = 'primary'") is 5 ? 5L : (long?)null);
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken); // a shadow would be recorded within the same interval
        Assert.Equal(0L, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, shadowTenantId,
            "SELECT count(*) FROM inference_jobs WHERE metadata ->> 'route' = 'shadow'"));

        // Batches: one at a time, datasets within the tenant's size, and a file without line breaks cannot fill a silo.
        var (batchTenant, batchKey) = await platform.CreateTenantWithAdminAsync("batchbounds", new { concurrent_batch_runs = 1, batch_dataset_bytes = 3_000_000 });
        await RegisterModelAsync(batchTenant, batchKey, "scorer", "1");
        await UploadDatasetAsync(batchTenant, batchKey, "inputs", "1", Encoding.UTF8.GetString(await SampleDatasets.GenerateAsync("binary", 40_000, seed: 3)));
        await UploadDatasetAsync(batchTenant, batchKey, "oneline", "1", "x1,x2,x3,x4,x5\n" + string.Join(',', Enumerable.Repeat("0.5", 600_000)));
        await UploadDatasetAsync(batchTenant, batchKey, "huge", "1", "x1,x2,x3,x4,x5\n" + string.Concat(Enumerable.Repeat("0.1,0.2,0.3,0.4,0.5\n", 160_000)));
        var batches = $"/api/v1/tenants/{batchTenant}/batches";

        await platform.ExpectAsync(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Post, batches, batchKey,
            new { model = "scorer", version = "1", datasetUri = "model://huge/versions/1" });
        var running = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, batches, batchKey,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" });
        var second = await platform.ExpectAsync(HttpStatusCode.TooManyRequests, HttpMethod.Post, batches, batchKey,
            new { model = "scorer", version = "1", datasetUri = "model://inputs/versions/1" });
        Assert.Equal("concurrent_batch_runs", second.GetProperty("quota").GetString());
        var runningPath = $"{batches}/{running.GetProperty("id").GetString()}";
        var state = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, runningPath, batchKey)).GetProperty("status").GetString();
        if (state is "pending" or "running")
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{runningPath}/cancel", batchKey);
        }

        var oneLine = await platform.ExpectAsync(HttpStatusCode.Accepted, HttpMethod.Post, batches, batchKey,
            new { model = "scorer", version = "1", datasetUri = "model://oneline/versions/1" });
        var oneLinePath = $"{batches}/{oneLine.GetProperty("id").GetString()}";
        await WaitForBatchAsync(oneLinePath, batchKey, "failed");
        var failed = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, oneLinePath, batchKey);
        Assert.Contains("Line 2 of the dataset is longer than", failed.GetProperty("error").GetString());
    }

    private async Task<Client.PhantomClient> ConnectAsync(string key) => await Client.PhantomClient.ConnectAsync(new Client.PhantomClientOptions
    {
        MembershipConnectionString = platform.Databases.Membership,
        ClusterId = platform.ClusterId,
        ApiKey = key,
    }, TestContext.Current.CancellationToken);

    /// <summary>Registers a classifier model with the shared ONNX artifact under each version label.</summary>
    private async Task RegisterModelAsync(string tenant, string key, string name, params string[] versions) =>
        await platform.AddModelWithArtifactAsync(tenant, key, name, "classifier", "fasttree", await Onnx.Value, "application/octet-stream", versions);

    private Task UploadDatasetAsync(string tenant, string key, string name, string version, string csv) =>
        platform.AddModelWithArtifactAsync(tenant, key, name, "dataset", "csv", Encoding.UTF8.GetBytes(csv), "text/csv", version);

    private async Task WaitForBatchAsync(string batchPath, string key, string status)
    {
        var finished = await PollAsync(async () =>
        {
            var batch = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, batchPath, key);
            return batch.GetProperty("status").GetString() is "completed" or "failed" or "cancelled" ? batch : (JsonElement?)null;
        }, TimeSpan.FromMinutes(4));
        Assert.Equal(status, finished.GetProperty("status").GetString());
    }

    private static async Task<T> PollAsync<T>(Func<Task<T?>> probe, TimeSpan? timeout = null, Func<string>? what = null) where T : struct =>
        (await PollForAsync(async () => await probe() is { } found ? new StrongBox<T>(found) : null, timeout, what)).Value;

    private static async Task<T> PollForAsync<T>(Func<Task<T?>> probe, TimeSpan? timeout = null, Func<string>? what = null) where T : class
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what?.Invoke() ?? "the condition"}");
            await Task.Delay(250);
        }
    }

    private static Dictionary<string, double> Row(double value) => new() { ["x1"] = value, ["x2"] = -value, ["x3"] = value / 2, ["x4"] = 1 - value, ["x5"] = value };

    private static Dictionary<string, string> IfMatch(JsonElement model) => new() { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" };
}
