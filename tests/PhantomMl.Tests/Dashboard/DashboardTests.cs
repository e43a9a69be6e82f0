using System.Net;
using Microsoft.Playwright;
using PhantomMl.Tests.Infrastructure;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Dashboard;

/// <summary>
/// The web dashboard at /ui in a real browser against a real silo: signing in with an API key, a training job's curve
/// drawn from its points and zoomed, a model's lineage graph, another tenant's pages refused, the platform page for
/// platform admins, and the basics of accessibility (labels, keyboard).
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class DashboardTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>, IAsyncLifetime
{
    private const int Points = 30_000;
    private Browser? _browser;

    private Browser Browser => _browser ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _browser = await Browser.LaunchAsync();

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_tenant_signs_in_sees_a_jobs_curve_drawn_from_its_points_zooms_in_and_sees_a_models_lineage()
    {
        var (tenant, key, jobId) = await TrainedModelAsync("uiown");
        var page = await Browser.NewPageAsync();

        // Signing in with the keyboard only: the field is found by its label, Enter submits.
        await page.GotoAsync(Url("/ui"));
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByLabel("API key").PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Tenant {tenant}" }));
        Assert.Equal(key, await page.EvaluateAsync<string>("sessionStorage.getItem('phantom.apiKey')"));
        Assert.DoesNotContain(key, page.Url);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "churn-run" }));
        await Browser.ScreenshotAsync(page, "tenant-overview");

        // The job's curve: drawn from the job's 30,000 points, downsampled on the server into buckets.
        await page.GetByRole(AriaRole.Link, new() { Name = "churn-run" }).ClickAsync();
        var curve = page.Locator("#curve");
        await Expect(curve.Locator("canvas"));
        Assert.Equal(Points.ToString(), await curve.GetAttributeAsync("data-total"));
        var buckets = int.Parse((await curve.GetAttributeAsync("data-points"))!);
        Assert.InRange(buckets, 100, 2000);
        Assert.Contains("30,000 points", await page.Locator("#curve-status").InnerTextAsync());
        await Browser.ScreenshotAsync(page, "training-job-curve");

        // Dragging across the left tenth of the plot zooms in: the chart asks for that step range again.
        var plot = curve.Locator(".u-over");
        var box = (await plot.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + 2, box.Y + box.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width / 10, box.Y + box.Height / 2, new() { Steps = 5 });
        await page.Mouse.UpAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Show all steps" }));
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#curve').dataset.total) < 30000");
        var zoomed = long.Parse((await curve.GetAttributeAsync("data-total"))!);
        Assert.InRange(zoomed, 1, Points / 5);
        await Browser.ScreenshotAsync(page, "training-job-curve-zoomed");

        // The model's versions say which are retired; its lineage is dataset → job → version → alias, drawn as a graph (the
        // retired version has no edges).
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/churn/versions", key, new { version = "old" });
        var etag = (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/churn", key)).GetProperty("eTag").GetInt64();
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/churn/versions/old/archive", key, null,
            new Dictionary<string, string> { ["If-Match"] = $"\"{etag}\"" });
        await page.GotoAsync(Url($"/ui/#/t/{tenant}/models/churn"));
        await Expect(page.GetByRole(AriaRole.Cell, new() { NameRegex = new System.Text.RegularExpressions.Regex("^archived ") }));
        var lineage = page.Locator("#lineage");
        await Expect(lineage.Locator("svg"));
        await Browser.ScreenshotAsync(page, "model-lineage");
        Assert.Equal("4", await lineage.GetAttributeAsync("data-nodes"));
        await Expect(lineage.Locator($"g[data-type='training_job'][data-id='{jobId}']"));
        await Expect(lineage.Locator("g[data-type='dataset'][data-id='s3://datasets/churn.csv']"));
        await Expect(lineage.Locator("g[data-type='alias'][data-id='churn/aliases/champion']"));
    }

    [Fact]
    public async Task The_inference_page_shows_latency_throughput_and_the_confidence_histogram_of_real_predictions()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("uiserve");
        await platform.AddModelWithArtifactAsync(tenant, key, "scorer", "classifier", "fasttree",
            await SampleDatasets.TrainBinaryOnnxAsync(rows: 500, seed: 7, trees: 5), "application/octet-stream", "1");
        const int Requests = 12;
        for (var i = 0; i < Requests; i++)
        {
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/scorer/versions/1/predict", key,
                new { rows = new[] { new Dictionary<string, double> { ["x1"] = i / 10.0, ["x2"] = -i / 10.0, ["x3"] = 0.5, ["x4"] = 1, ["x5"] = i / 20.0 } },
                    bypassCache = true });
        }

        // The recorder writes predictions to ClickHouse within its interval; the page shows what is there.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while ((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}/models/scorer/analytics", key))
               .GetProperty("versions").EnumerateArray().Sum(v => v.GetProperty("requests").GetInt64()) < Requests)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the predictions did not reach the analytics within 60 s");
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }

        var page = await Browser.NewPageAsync();
        await page.GotoAsync(Url("/ui/#/signin"));
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Tenant {tenant}" }));
        await page.GetByRole(AriaRole.Link, new() { Name = "Inference" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Inference analytics" }));
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "primary", Exact = true }));
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Latency of 1 (primary), ms", Exact = false }));
        var histogram = page.GetByRole(AriaRole.Img, new() { Name = "Confidence of predictions", Exact = false });
        await Expect(histogram);
        // The histogram's text equivalent lists each bin's count: together, every prediction.
        var label = (await histogram.GetAttributeAsync("aria-label"))!;
        var total = label[(label.IndexOf(':') + 1)..].Split(',').Sum(bin => int.Parse(bin.Trim().Split(' ')[1]));
        Assert.Equal(Requests, total);
        await Browser.ScreenshotAsync(page, "inference-analytics");
    }

    [Fact]
    public async Task Another_tenants_pages_are_refused_and_a_bad_key_is_not_let_in()
    {
        var (tenant, _, jobId) = await TrainedModelAsync("uivictim");
        var (_, spyKey) = await platform.CreateTenantWithAdminAsync("uispy");
        var page = await Browser.NewPageAsync();

        await page.GotoAsync(Url("/ui/#/signin"));
        await page.GetByLabel("API key").FillAsync("phm_000000000000_not-a-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "not accepted" }));
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('phantom.apiKey')"));

        await page.GetByLabel("API key").FillAsync(spyKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenant uispy", Exact = false }));
        foreach (var path in new[] { $"#/t/{tenant}", $"#/t/{tenant}/jobs/{jobId}", $"#/t/{tenant}/models/churn", "#/platform" })
        {
            await page.GotoAsync(Url($"/ui/{path}"));
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = path == "#/platform" ? "Not allowed" : "Not found" }));
            Assert.Equal(0, await page.Locator("canvas, #lineage svg").CountAsync());
        }

        await Browser.ScreenshotAsync(page, "other-tenant-refused");
    }

    [Fact]
    public async Task A_platform_admin_sees_the_silos_and_the_busiest_tenants_and_pages_carry_a_strict_content_security_policy()
    {
        var page = await Browser.NewPageAsync();
        var failures = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                failures.Add($"{message.Text} ({message.Location})"); // a CSP violation or a script error would show here
            }
        };
        var response = await page.GotoAsync(Url("/ui/#/signin"));
        Assert.Contains("default-src 'none'", response!.Headers["content-security-policy"]);
        await page.GetByLabel("API key").FillAsync(platform.Silo.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Platform health" }));
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "Active", Exact = true }).First);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Busiest tenants, last day" }));
        await Browser.ScreenshotAsync(page, "platform-health");

        // Every form field has a label that names it (looked up by label, as a screen reader would).
        await page.GotoAsync(Url($"/ui/#/t/{(await platform.CreateTenantWithAdminAsync("uiaudit")).TenantKey}/audit"));
        foreach (var label in new[] { "Words or \"a phrase\"", "User", "Action", "Resource type" })
        {
            await Expect(page.GetByLabel(label, new() { Exact = true }));
        }

        Assert.Empty(failures);
    }

    private string Url(string path) => new Uri(platform.Silo.BaseAddress, path).ToString();

    private static Task Expect(ILocator locator) => Assertions.Expect(locator).ToBeVisibleAsync(new() { Timeout = 20_000 });

    /// <summary>A tenant with a model whose version 1 was trained by a job with <see cref="Points"/> points of loss, aliased champion.</summary>
    private async Task<(string Tenant, string Key, string JobId)> TrainedModelAsync(string label)
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync(label);
        var models = $"/api/v1/tenants/{tenant}/models";
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, models, key, new { name = "churn", modelType = "classifier", algorithm = "fasttree" });
        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key,
            new { jobName = "churn-run", modelName = "churn", datasetUri = "s3://datasets/churn.csv" });
        var jobId = job.GetProperty("id").GetString()!;
        for (var start = 0; start < Points; start += 10_000)
        {
            var points = Enumerable.Range(start, 10_000).Select(step => new { name = "loss", value = 1.0 / (1 + step / 500.0) + 0.02 * Math.Sin(step / 7.0), step });
            await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs/{jobId}/metrics", key, new { points });
        }

        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"{models}/churn/versions", key, new { version = "1", trainingJobId = jobId, accuracy = 0.91 });
        var model = await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"{models}/churn", key);
        await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"{models}/churn/aliases/champion", key, new { version = "1" },
            new Dictionary<string, string> { ["If-Match"] = $"\"{model.GetProperty("eTag").GetInt64()}\"" });
        return (tenant, key, jobId);
    }
}
