using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// Every operation of the API reference (/openapi/v1.json), sent the values a careless or hostile client sends: NUL
/// characters, blanks, over-long strings, extreme and wrong-typed numbers and dates, null for required members, odd path
/// segments, broken and ambiguous JSON. None may answer 500, every refusal is a ProblemDetails, and the tenant's data
/// stays exactly as it was. It runs as a tenant admin and as the platform admin, so platform operations are reached too.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class MalformedInputSweepTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    // No bare "..": HTTP resolves it (the client and Kestrel both) to the parent path, a different and valid request.
    private static readonly string[] BadPathSegments = ["%00", new('a', 3000), "..%2F..%2Fetc%2Fpasswd", "%2E%2E%2F", "%20", "%F0%9F%92%A9", "-1"];

    [Fact]
    public async Task No_operation_answers_500_to_bad_values_and_none_changes_anything()
    {
        var (tenant, key) = await platform.CreateTenantWithAdminAsync("sweep");
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models", key,
            new { name = "m", modelType = "classifier", algorithm = "fasttree" });
        await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/models/m/versions", key, new { version = "1" });
        var job = await platform.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenant}/training-jobs", key,
            new { jobName = "j", modelName = "m", datasetUri = "s3://elsewhere/d.csv" });
        var baseline = new Dictionary<string, string>
        {
            ["tenantKey"] = tenant, ["name"] = "m", ["version"] = "1", ["jobId"] = job.GetProperty("id").GetString()!, ["batchId"] = Guid.NewGuid().ToString(),
            ["keyId"] = Guid.NewGuid().ToString(), ["userId"] = "admin", ["alias"] = "champion", ["metric"] = "loss", ["key"] = "probe",
        };
        var tenantId = Guid.Parse((await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/tenants/{tenant}")).GetProperty("id").GetString()!);
        var tenantsBefore = await TenantCountAsync();
        var before = await TenantState.SnapshotAsync(platform.Databases, tenantId);

        using var openApi = JsonDocument.Parse(await (await platform.SendAsync(HttpMethod.Get, "/openapi/v1.json", "")).Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var schemas = openApi.RootElement.GetProperty("components").GetProperty("schemas");
        var requests = new List<(string Method, string Path, HttpContent? Body)>();
        foreach (var path in openApi.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                requests.AddRange(Variants(operation.Name.ToUpperInvariant(), path.Name, operation.Value, schemas, baseline));
            }
        }

        var failures = new List<string>();
        foreach (var caller in new[] { key, platform.Silo.AdminKey })
        {
            foreach (var (method, path, body) in requests)
            {
                using var response = await platform.Silo.SendAsync(new HttpMethod(method), path, caller, await CopyAsync(body));
                var status = (int)response.StatusCode;
                if (status < 300 && method != "GET")
                {
                    TestContext.Current.TestOutputHelper?.WriteLine($"ACCEPTED {method} {Shorten(path)} {Shorten(body is null ? "" : await body.ReadAsStringAsync(TestContext.Current.CancellationToken))}: {status}");
                }

                // Kestrel itself turns away a NUL in the path (400) and a request line over its 8 KiB limit (414), with an
                // empty answer before any application code runs: the only refusals that cannot be ProblemDetails.
                var refusedByKestrel = response.Content.Headers.ContentLength == 0
                    && ((status == 400 && path.Contains("%00", StringComparison.Ordinal)) || (status == 414 && path.Length > 8192));
                if (status >= 500 || (status >= 400 && !refusedByKestrel && !await IsErrorOfItsApiAsync(path, response)))
                {
                    var token = TestContext.Current.CancellationToken;
                    var sent = body is null ? "" : await body.ReadAsStringAsync(token);
                    failures.Add($"{method} {Shorten(path)} {Shorten(sent)}: {status} {Shorten(await response.Content.ReadAsStringAsync(token))}");
                }
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{requests.Count * 2} requests sent");
        Assert.True(failures.Count == 0, $"{failures.Count} bad answers:\n{string.Join('\n', failures.Take(40))}");
        Assert.Equal(before, await TenantState.SnapshotAsync(platform.Databases, tenantId));
        Assert.Equal(tenantsBefore, await TenantCountAsync());
    }

    /// <summary>The operation with one path segment bad at a time, with bad query values, and with bad bodies.</summary>
    private static IEnumerable<(string Method, string Path, HttpContent? Body)> Variants(string method, string template, JsonElement operation, JsonElement schemas,
        Dictionary<string, string> baseline)
    {
        var parameters = operation.TryGetProperty("parameters", out var list) ? list.EnumerateArray().ToList() : [];
        var pathParameters = parameters.Where(p => p.GetProperty("in").GetString() == "path").Select(p => p.GetProperty("name").GetString()!).ToList();
        string Fill(string? badName, string? badValue) => pathParameters.Aggregate(template, (path, name) =>
            path.Replace($"{{{name}}}", name == badName ? badValue! : Uri.EscapeDataString(baseline.GetValueOrDefault(name, "x")), StringComparison.Ordinal));
        var good = Fill(null, null);

        foreach (var name in pathParameters)
        {
            foreach (var bad in BadPathSegments)
            {
                yield return (method, Fill(name, bad), JsonBody(method, "{}"));
            }
        }

        foreach (var query in parameters.Where(p => p.GetProperty("in").GetString() == "query"))
        {
            foreach (var bad in BadValues(query.GetProperty("schema"), schemas, forQuery: true))
            {
                yield return (method, $"{good}?{query.GetProperty("name").GetString()}={Uri.EscapeDataString(bad)}", JsonBody(method, "{}"));
            }
        }

        if (operation.TryGetProperty("requestBody", out var requestBody) && requestBody.GetProperty("content").TryGetProperty("application/json", out var json))
        {
            var schema = Resolve(json.GetProperty("schema"), schemas);
            // Where the body is optional, no body (or null) is a valid request of its own.
            var bodyRequired = requestBody.TryGetProperty("required", out var isRequired) && isRequired.GetBoolean();
            foreach (var raw in new[] { "", "null", "[]", "\"text\"", "12", "{", "{\"a\":", new string('[', 5000) }.Where(raw => bodyRequired || raw is not ("" or "null")))
            {
                yield return (method, good, JsonBody(method, raw, always: true));
            }

            if (schema.TryGetProperty("properties", out var properties))
            {
                var names = properties.EnumerateObject().Select(p => p.Name).ToList();
                var required = schema.TryGetProperty("required", out var requiredList) ? requiredList.EnumerateArray().Select(r => r.GetString()!).ToHashSet() : [];
                // Every member bad at once, one kind of badness per body; required members also sent as null.
                for (var kind = 0; kind < 6; kind++)
                {
                    var body = new JsonObject();
                    foreach (var property in properties.EnumerateObject())
                    {
                        var values = BadValues(property.Value, schemas, forQuery: false).ToList();
                        body[property.Name] = values.Count == 0 ? null : JsonNode.Parse(values[kind % values.Count]);
                    }

                    yield return (method, good, JsonBody(method, body.ToJsonString(), always: true));
                }

                if (required.Count > 0)
                {
                    var nulls = new JsonObject();
                    foreach (var name in names)
                    {
                        nulls[name] = null;
                    }

                    yield return (method, good, JsonBody(method, nulls.ToJsonString(), always: true));
                }

                if (names.Count > 0)
                {
                    yield return (method, good, JsonBody(method, $"{{\"{names[0]}\": \"a\", \"{names[0]}\": \"b\"}}", always: true));
                }
            }
        }
    }

    /// <summary>
    /// A refusal in its API's error format: ProblemDetails, or under MLflow's paths MLflow's own
    /// <c>{"error_code", "message"}</c> (docs/mlflow.md), which MLflow's clients read.
    /// </summary>
    private static async Task<bool> IsErrorOfItsApiAsync(string path, HttpResponseMessage response)
    {
        if (!path.Contains("/2.0/mlflow", StringComparison.Ordinal))
        {
            return response.Content.Headers.ContentType?.MediaType == "application/problem+json";
        }

        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return response.Content.Headers.ContentType?.MediaType == "application/json"
            && error.RootElement.TryGetProperty("error_code", out var code) && code.GetString() is { Length: > 0 }
            && error.RootElement.TryGetProperty("message", out _);
    }

    /// <summary>Bad values of a schema's type, as JSON text (or query text, unquoted).</summary>
    private static IEnumerable<string> BadValues(JsonElement schema, JsonElement schemas, bool forQuery)
    {
        schema = Resolve(schema, schemas);
        var types = schema.TryGetProperty("type", out var type)
            ? type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!]
            : ["object"];
        var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
        string Text(string value) => forQuery ? value : JsonSerializer.Serialize(value);
        if (format == "date-time")
        {
            return [Text("0001-01-01T00:00:00Z"), Text("9999-12-31T23:59:59.9999999Z"), Text("not a date"), Text("\u0000")];
        }

        if (format == "uuid")
        {
            return [Text("\u0000"), Text("not-a-uuid"), Text(new string('f', 5000))];
        }

        if (types.Contains("integer") || types.Contains("number"))
        {
            return forQuery
                ? ["-1", "99999999999999999999999", "1e309", "NaN", "abc"]
                : ["-2147483649", "1e400", "-1e308", "\"12\"", "1.5e308", "{}"];
        }

        if (types.Contains("boolean"))
        {
            return [forQuery ? "maybe" : "\"yes\"", forQuery ? "2" : "2"];
        }

        if (types.Contains("string"))
        {
            return [Text("\u0000"), Text("   "), Text(new string('x', 100_000)), forQuery ? "%" : "123", Text("a\u0000b"), Text("\t\n")];
        }

        if (types.Contains("array"))
        {
            return forQuery ? ["\u0000"] : ["[null]", "\"not an array\"", "[\"\\u0000\"]", "[{}]", "{}"];
        }

        return forQuery ? ["\u0000"] : ["{\"\\u0000\": \"\\u0000\"}", "\"not an object\"", "[]", "{\"k\": null}", "{\"k\": {\"k\": {\"k\": {}}}}"];
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            return schemas.GetProperty(reference.GetString()!.Split('/')[^1]);
        }

        // A nullable reference is written as a oneOf/anyOf with null.
        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                var first = options.EnumerateArray().FirstOrDefault(o => !(o.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null"));
                if (first.ValueKind == JsonValueKind.Object)
                {
                    return Resolve(first, schemas);
                }
            }
        }

        return schema;
    }

    private static HttpContent? JsonBody(string method, string json, bool always = false) =>
        always || method is "POST" or "PUT" or "PATCH" ? new StringContent(json, Encoding.UTF8, "application/json") : null;

    private static async Task<HttpContent?> CopyAsync(HttpContent? content) =>
        content is null ? null : new StringContent(await content.ReadAsStringAsync(), Encoding.UTF8, "application/json");

    private static string Shorten(string text) => text.Length <= 160 ? text : text[..160] + "...";

    private async Task<long> TenantCountAsync() =>
        (await platform.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/tenants?limit=500")).GetArrayLength();
}
