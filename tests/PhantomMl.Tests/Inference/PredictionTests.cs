using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.ML;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Inference;

/// <summary>Online predictions from a registered ONNX version, against ML.NET's own predictions from the same model.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class PredictionTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task Served_predictions_equal_ML_NETs_own_schema_violations_are_400_and_other_tenants_get_404()
    {
        // The platform's trainer, in this process, so that ML.NET's own model is at hand.
        var csv = Path.Combine(Path.GetTempPath(), $"predict-{Guid.NewGuid():N}.csv");
        await File.WriteAllBytesAsync(csv, await SampleDatasets.GenerateAsync("binary", 2000, seed: 11), TestContext.Current.CancellationToken);
        var recipe = TrainingRecipe.Parse("""{"trainer": "builtin", "task": "binary-classification", "algorithm": "fasttree", "rounds": 1}""",
            """{"trees": 30}""", "model://data/versions/1");
        var trained = BuiltInTrainer.Train(csv, recipe, _ => true, TestContext.Current.CancellationToken);

        var (tenant, key) = await platform.CreateTenantWithAdminAsync("predict");
        var versionPath = $"/api/v1/tenants/{tenant}/models/scorer/versions/1";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key, new { name = "scorer", modelType = "classifier", algorithm = "fasttree" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions", key, new { version = "1" });
        var onnx = new ByteArrayContent(trained.Onnx!);
        onnx.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"{versionPath}/artifact", key, onnx);

        var inputs = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{versionPath}/inputs", key);
        Assert.Equal(["x1", "x2", "x3", "x4", "x5"], inputs.EnumerateArray().Select(i => i.GetProperty("name").GetString()));

        // ML.NET's predictions for the first 200 rows of the file.
        var ml = new MLContext();
        var rows = File.ReadLines(csv).Skip(1).Take(200).Select(line => line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var view = ml.Data.LoadFromEnumerable(rows.Select(r => new Features { x1 = (float)r[0], x2 = (float)r[1], x3 = (float)r[2], x4 = (float)r[3], x5 = (float)r[4] }));
        var expected = ml.Data.CreateEnumerable<Scored>(trained.Transformer!.Transform(view), reuseRowObject: false).ToList();

        var served = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{versionPath}/predict", key,
            new { rows = rows.Select(r => new Dictionary<string, double> { ["x1"] = r[0], ["x2"] = r[1], ["x3"] = r[2], ["x4"] = r[3], ["x5"] = r[4] }) });
        Assert.Equal("1", served.GetProperty("version").GetString());
        var predictions = served.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(200, predictions.Count);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(expected[i].PredictedLabel ? 1 : 0, predictions[i].GetProperty("prediction").GetDouble());
            // Float arithmetic in two engines: equal to single precision (a relative 1e-5).
            AssertClose(expected[i].Probability, predictions[i].GetProperty("outputs").GetProperty("Probability").GetDouble());
            AssertClose(expected[i].Score, predictions[i].GetProperty("outputs").GetProperty("Score").GetDouble());
            AssertClose(expected[i].PredictedLabel ? expected[i].Probability : 1 - expected[i].Probability, predictions[i].GetProperty("confidence").GetDouble());
        }

        // Concurrent single-row requests are micro-batched on the silo; each still gets its own row's answer.
        var single = new double[200];
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = TestContext.Current.CancellationToken },
            async (i, _) =>
            {
                var r = rows[i];
                var answer = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{versionPath}/predict", key,
                    new { rows = new[] { new Dictionary<string, double> { ["x1"] = r[0], ["x2"] = r[1], ["x3"] = r[2], ["x4"] = r[3], ["x5"] = r[4] } } });
                single[i] = answer.GetProperty("predictions")[0].GetProperty("outputs").GetProperty("Score").GetDouble();
            });
        for (var i = 0; i < 200; i++)
        {
            AssertClose(expected[i].Score, single[i]);
        }

        // Schema violations name what is wrong; nothing is scored.
        var missing = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{versionPath}/predict", key,
            new { rows = new[] { new Dictionary<string, double> { ["x1"] = 1, ["x2"] = 1, ["x3"] = 1, ["x4"] = 1 } } });
        Assert.Contains("missing: x5", missing.GetProperty("detail").GetString());
        var unknown = await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{versionPath}/predict", key,
            new { rows = new[] { new Dictionary<string, double> { ["x1"] = 1, ["x2"] = 1, ["x3"] = 1, ["x4"] = 1, ["x5"] = 1, ["age"] = 3 } } });
        Assert.Contains("unknown: age", unknown.GetProperty("detail").GetString());
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{versionPath}/predict", key, new { rows = Array.Empty<object>() });
        await platform.ExpectAsync(HttpStatusCode.BadRequest, HttpMethod.Post, $"{versionPath}/predict", key, """{"rows": [{"x1": "high"}]}""");

        // The active version: none yet, then the one activated; an alias works wherever a version does.
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/predict", key, new { rows = new[] { Row(1) } });
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/scorer", key);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"{versionPath}/activate", key, headers: IfMatch(model));
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/scorer/aliases/champion", key, new { version = "1" }, IfMatch(model));
        var active = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/predict", key, new { rows = new[] { Row(1) } });
        Assert.Equal("1", active.GetProperty("version").GetString());
        var champion = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/champion/predict", key, new { rows = new[] { Row(1) } });
        Assert.Equal("1", champion.GetProperty("version").GetString());

        // Identical inputs are answered from the result cache unless bypassed; moving the alias moves its answers.
        var first = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/champion/predict", key, new { rows = new[] { Row(0.25) } });
        var again = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/champion/predict", key, new { rows = new[] { Row(0.25) } });
        var bypassed = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/champion/predict", key,
            new { rows = new[] { Row(0.25) }, bypassCache = true });
        Assert.Equal((false, true, false), (first.GetProperty("cached").GetBoolean(), again.GetProperty("cached").GetBoolean(), bypassed.GetProperty("cached").GetBoolean()));
        Assert.Equal(first.GetProperty("predictions").GetRawText(), again.GetProperty("predictions").GetRawText());

        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions", key, new { version = "2" });
        var copy = new ByteArrayContent(trained.Onnx!);
        copy.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/scorer/versions/2/artifact", key, copy);
        model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/scorer", key);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/v1/tenants/{tenant}/models/scorer/aliases/champion", key, new { version = "2" }, IfMatch(model));
        await Task.Delay(TimeSpan.FromSeconds(6), TestContext.Current.CancellationToken); // the silo's alias resolution is trusted for 5 s
        var moved = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/champion/predict", key, new { rows = new[] { Row(0.25) } });
        Assert.Equal(("2", false), (moved.GetProperty("version").GetString(), moved.GetProperty("cached").GetBoolean()));

        // Another tenant cannot call this tenant's model; a viewer (no inference:predict) is refused.
        var (_, otherKey) = await platform.CreateTenantWithAdminAsync("predictthief");
        await platform.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Post, $"{versionPath}/predict", otherKey, new { rows = new[] { Row(1) } });
        var viewerKey = await platform.AddUserWithKeyAsync(tenant, "watcher", ["viewer"]);
        await platform.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Post, $"{versionPath}/predict", viewerKey, new { rows = new[] { Row(1) } });
        File.Delete(csv);
    }

    [Fact]
    public async Task Concurrent_SDK_predictions_are_coalesced_yet_each_is_answered_refused_and_recorded_as_if_alone()
    {
        var token = TestContext.Current.CancellationToken;
        var onnx = await SampleDatasets.TrainBinaryOnnxAsync(rows: 500, seed: 5, trees: 10);
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("coalesce");
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        await platform.AddModelWithArtifactAsync(tenant, key, "scorer", "classifier", "fasttree", onnx, "application/octet-stream", "1");
        await using var client = await PhantomMl.Client.PhantomClient.ConnectAsync(new PhantomMl.Client.PhantomClientOptions
        {
            MembershipConnectionString = platform.Databases.Membership,
            ClusterId = platform.ClusterId,
            ApiKey = key,
        }, token);
        var alone = await client.PredictAsync(tenant, "scorer", "1", [Row(0.5)], bypassCache: true, cancellationToken: token);

        // 300 at once: every 7th misses an input (400, alone); the others ask for 1 to 3 rows. Each must get exactly its
        // own rows' answers, the same as a request sent alone.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            var rows = Enumerable.Range(0, 1 + i % 3).Select(_ => (IReadOnlyDictionary<string, double>)Row(0.5)).ToList();
            if (i % 7 == 6)
            {
                rows[0] = new Dictionary<string, double> { ["x1"] = 1 };
            }

            try
            {
                return (i, View: await client.PredictAsync(tenant, "scorer", "1", rows, bypassCache: true, cancellationToken: token), Status: 200);
            }
            catch (PhantomMl.Grains.PhantomException e)
            {
                return (i, View: (PhantomMl.Grains.Inference.PredictionView?)null, e.Status);
            }
        }));
        foreach (var (i, view, status) in outcomes)
        {
            Assert.Equal(i % 7 == 6 ? 400 : 200, status);
            if (view is not null)
            {
                Assert.Equal(1 + i % 3, view.Predictions.Count);
                Assert.All(view.Predictions, prediction => Assert.Equal(alone.Predictions[0].Prediction, prediction.Prediction));
            }
        }

        // Recorded one row per request, as if sent alone (the refused ones not at all).
        var served = outcomes.Count(o => o.Status == 200) + 1;
        Assert.Equal(served, await RecordedAsync(tenantId, served, token));
        // Each is recorded as its own request; and they did travel together: requests sent in one grain call carry that
        // call's request id, followed by ':' and their place in the call.
        Assert.Equal(served, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(DISTINCT metadata->>'requestId') FROM inference_jobs WHERE batch_id IS NULL"));
        var calls = await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(DISTINCT split_part(metadata->>'requestId', ':', 1)) FROM inference_jobs WHERE batch_id IS NULL");
        Assert.True(calls < served / 2, $"{served} predictions arrived in {calls} grain calls");
    }

    [Fact]
    public async Task Concurrent_HTTP_predictions_share_grain_calls_only_within_one_caller_and_each_is_answered_as_if_alone()
    {
        var token = TestContext.Current.CancellationToken;
        var onnx = await SampleDatasets.TrainBinaryOnnxAsync(rows: 500, seed: 5, trees: 10);
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("httpcoalesce");
        var otherKey = await platform.AddUserWithKeyAsync(tenant, "second", ["ml-engineer"]);
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}", key)).GetProperty("id").GetString()!);
        await platform.AddModelWithArtifactAsync(tenant, key, "scorer", "classifier", "fasttree", onnx, "application/octet-stream", "1");
        var path = $"/api/v1/tenants/{tenant}/models/scorer/versions/1/predict";
        var alone = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, path, key, new { rows = new[] { Row(0.5) }, bypassCache = true });
        var expected = alone.GetProperty("predictions")[0].GetProperty("prediction").GetDouble();

        // 240 at once from two users' keys; every 7th misses an input (400, alone); one carries its own Idempotency-Key.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 240).Select(async i =>
        {
            var rows = Enumerable.Range(0, 1 + i % 3).Select(_ => Row(0.5)).ToList();
            if (i % 7 == 6)
            {
                rows[0] = new Dictionary<string, double> { ["x1"] = 1 };
            }

            var headers = i == 100 ? new Dictionary<string, string> { ["Idempotency-Key"] = "own-prediction-id" } : null;
            using var response = await platform.SendAsync(HttpMethod.Post, path, i % 2 == 0 ? key : otherKey, new { rows, bypassCache = true }, headers);
            var body = await response.Content.ReadAsStringAsync(token);
            return (i, Status: (int)response.StatusCode, Body: body);
        }));
        foreach (var (i, status, body) in outcomes)
        {
            Assert.True((i % 7 == 6 ? 400 : 200) == status, $"request {i}: {status} {body}");
            if (status == 200)
            {
                var predictions = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("predictions");
                Assert.Equal(1 + i % 3, predictions.GetArrayLength());
                Assert.All(predictions.EnumerateArray(), row => Assert.Equal(expected, row.GetProperty("prediction").GetDouble()));
            }
            else
            {
                Assert.Contains("x2", body); // its own refusal: the input it lacks
            }
        }

        var served = outcomes.Count(o => o.Status == 200) + 1;
        Assert.Equal(served, await RecordedAsync(tenantId, served, token));
        // Each is recorded as its own request; a grain call carries one caller: no call has predictions of both users.
        Assert.Equal(served, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(DISTINCT metadata->>'requestId') FROM inference_jobs WHERE batch_id IS NULL"));
        Assert.Equal(0, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(*) FROM (SELECT split_part(metadata->>'requestId', ':', 1) FROM inference_jobs WHERE batch_id IS NULL GROUP BY 1 " +
            "HAVING count(DISTINCT created_by) > 1) shared"));
        // The request with its own Idempotency-Key kept it, alone.
        Assert.Equal(1, await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(*) FROM inference_jobs WHERE metadata->>'requestId' = 'own-prediction-id'"));
        // And the others did travel together.
        var calls = await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId,
            "SELECT count(DISTINCT split_part(metadata->>'requestId', ':', 1)) FROM inference_jobs WHERE batch_id IS NULL");
        Assert.True(calls < served, $"{served} predictions arrived in {calls} grain calls");
    }

    /// <summary>The tenant's recorded online predictions, once there are <paramref name="expected"/> (recording is queued) or after 30 s.</summary>
    private async Task<long> RecordedAsync(Guid tenantId, long expected, CancellationToken token)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long recorded;
        while ((recorded = await TenantSql.ScalarAsync<long>(platform.Databases.OwnerSource, tenantId, "SELECT count(*) FROM inference_jobs WHERE batch_id IS NULL")) < expected
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, token);
        }

        return recorded;
    }

    private static void AssertClose(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"expected {expected}, served {actual}");

    private static Dictionary<string, double> Row(double value) => new() { ["x1"] = value, ["x2"] = value, ["x3"] = value, ["x4"] = value, ["x5"] = value };

    private static Dictionary<string, string> IfMatch(System.Text.Json.JsonElement model) => new() { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" };

#pragma warning disable IDE1006, SA1300 // ML.NET maps columns by member name: these are the dataset's column names
    private sealed class Features
    {
        public float x1 { get; set; }
        public float x2 { get; set; }
        public float x3 { get; set; }
        public float x4 { get; set; }
        public float x5 { get; set; }
    }
#pragma warning restore IDE1006, SA1300

    private sealed class Scored
    {
        public bool PredictedLabel { get; set; }
        public float Score { get; set; }
        public float Probability { get; set; }
    }
}
