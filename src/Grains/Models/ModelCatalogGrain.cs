using System.Globalization;
using System.Text;
using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IModelCatalogGrain"/>. Searches under the tenant's row-level security with keyset pagination
/// (by name, or newest first by (created_at, id)); tenant + model_type filters use idx_models_metadata_covering.
/// </summary>
[StatelessWorker]
public sealed class ModelCatalogGrain(TenantDatabase database, AccessGuard guard, IModelCache cache, ModelSql modelSql) : Grain, IModelCatalogGrain
{
    /// <inheritdoc />
    public async Task<ModelPage> SearchAsync(ModelSearch search)
    {
        var tenantKey = this.GetPrimaryKeyString();
        var id = (await guard.AuthorizeAsync(tenantKey, Permissions.ModelsRead, new AuditEvent("data_access", "model", "*", "search"))).TenantId;
        if (search is null)
        {
            throw PhantomException.Invalid("Send the search's filters.", "body");
        }

        if (search.Limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        PlausibleTime.Check(search.CreatedFrom, "createdFrom");
        PlausibleTime.Check(search.CreatedTo, "createdTo");
        foreach (var (value, field, max) in new[] { (search.NamePrefix, "namePrefix", 128), (search.ModelType, "modelType", 100),
                     (search.Algorithm, "algorithm", 100), (search.Tag, "tag", 400), (search.Cursor, "cursor", 400) })
        {
            if (value is not null && (value.Length > max || value.Contains('\0')))
            {
                throw PhantomException.Invalid($"{field} is at most {max} characters, without NUL.", field);
            }
        }

        if (search.Sort is not ("name" or "created"))
        {
            throw PhantomException.Invalid("sort must be name or created.", "sort");
        }

        if (search.Status is not null && !ModelLifecycle.Transitions.ContainsKey(search.Status))
        {
            throw PhantomException.Invalid($"status must be one of {string.Join(", ", ModelLifecycle.Transitions.Keys)}.", "status");
        }

        var byName = search.Sort == "name";
        var (afterName, afterTime, afterId) = DecodeCursor(search.Cursor, byName);
        var (tagKey, tagValue) = SplitTag(search.Tag);
        var views = await database.InTenantAsync(id, (connection, transaction) =>
            modelSql.SearchAsync(connection, transaction, search, tagKey, tagValue, afterName, afterTime, afterId, search.Limit + 1));
        var more = views.Count > search.Limit;
        var page = more ? views[..search.Limit] : views;
        return new ModelPage(page, more ? EncodeCursor(page[^1], byName) : null);
    }

    /// <inheritdoc />
    public async Task<ModelView> GetModelAsync(string name)
    {
        var tenantKey = this.GetPrimaryKeyString();
        var id = (await guard.AuthorizeAsync(tenantKey, Permissions.ModelsRead, new AuditEvent("data_access", "model", name ?? "", "read"))).TenantId;
        ModelLifecycle.Name(name);
        return await cache.GetAsync(id, name!) is { } cached ? cached : await GrainFactory.Model(tenantKey, name!).GetAsync();
    }

    private static (string?, string?) SplitTag(string? tag)
    {
        if (tag is null)
        {
            return (null, null);
        }

        var equals = tag.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? (tag, null) : (tag[..equals], tag[(equals + 1)..]);
    }

    private static string EncodeCursor(ModelView last, bool byName) => Convert.ToBase64String(Encoding.UTF8.GetBytes(
        byName ? "n:" + last.Name : $"t:{last.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{last.Id}"));

    private static (string?, DateTimeOffset?, Guid?) DecodeCursor(string? cursor, bool byName)
    {
        if (cursor is null)
        {
            return (null, null, null);
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            if (byName && text.StartsWith("n:", StringComparison.Ordinal))
            {
                return (text[2..], null, null);
            }

            var parts = text.Split(':');
            if (!byName && parts is ["t", var ticks, var id])
            {
                return (null, new DateTimeOffset(long.Parse(ticks, CultureInfo.InvariantCulture), TimeSpan.Zero), Guid.Parse(id));
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException or OverflowException)
        {
        }

        throw PhantomException.Invalid("cursor is not one this API returned for this sort.", "cursor");
    }
}
