using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>HTTP helpers over one silo: JSON requests as its platform admin (or a given key), asserting statuses.</summary>
public class PlatformApi
{
    private readonly SiloProcess? _silo;

    public PlatformApi(SiloProcess silo) => _silo = silo;

    protected PlatformApi()
    {
    }

    public virtual SiloProcess Silo => _silo ?? throw new InvalidOperationException("no silo");

    /// <summary>A new unique tenant key.</summary>
    public static string NewTenantKey(string label) => $"{label}-{Guid.NewGuid():N}"[..30];

    /// <summary>Sends JSON (or raw text) and returns the response.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? apiKey = null, object? body = null,
        IDictionary<string, string>? headers = null) =>
        Silo.SendAsync(method, path, apiKey, body switch
        {
            null => null,
            HttpContent content => content,
            string raw => new StringContent(raw, System.Text.Encoding.UTF8, "application/json"),
            _ => JsonContent.Create(body),
        }, headers);

    /// <summary>Sends, asserts the status, and reads the JSON answer.</summary>
    public async Task<JsonElement> ExpectAsync(HttpStatusCode status, HttpMethod method, string path, string? apiKey = null, object? body = null,
        IDictionary<string, string>? headers = null)
    {
        using var response = await SendAsync(method, path, apiKey, body, headers);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{method} {path}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        if ((int)status >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A tenant with a tenant-admin 'admin' whose key is returned.</summary>
    public async Task<(string TenantKey, string AdminKey)> CreateTenantWithAdminAsync(string label, object? quotas = null)
    {
        var tenantKey = NewTenantKey(label);
        await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/v1/tenants", body: new { tenantKey, name = $"Tenant {label}", resourceQuotas = quotas });
        return (tenantKey, await AddUserWithKeyAsync(tenantKey, "admin", ["tenant-admin"]));
    }

    /// <summary>Registers a model and, under each of <paramref name="versions"/>, a version carrying <paramref name="artifact"/>.</summary>
    public async Task AddModelWithArtifactAsync(string tenantKey, string key, string name, string modelType, string algorithm, byte[] artifact,
        string mediaType, params string[] versions)
    {
        await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/models", key, new { name, modelType, algorithm });
        foreach (var version in versions)
        {
            await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/models/{name}/versions", key, new { version });
            var content = new ByteArrayContent(artifact);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            await ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/api/v1/tenants/{tenantKey}/models/{name}/versions/{version}/artifact", key, content);
        }
    }

    /// <summary>Adds a user (as the platform admin) and issues a key for it.</summary>
    public async Task<string> AddUserWithKeyAsync(string tenantKey, string userId, string[] roles)
    {
        await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/users",
            body: new { userId, email = $"{userId}@{tenantKey}.test", roles });
        var issued = await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/v1/tenants/{tenantKey}/users/{userId}/api-keys", body: new { name = "test" });
        return issued.GetProperty("secret").GetString()!;
    }

    /// <summary>Every audit row of a tenant, read as the platform admin.</summary>
    public async Task<List<JsonElement>> AuditAsync(string tenantKey)
    {
        var rows = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await ExpectAsync(HttpStatusCode.OK, HttpMethod.Get,
                $"/api/v1/tenants/{tenantKey}/audit?limit=200" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            rows.AddRange(page.GetProperty("entries").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return rows;
    }
}
