using Orleans.Concurrency;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Lineage;

/// <summary>See <see cref="ILineageGrain"/>. Walks run under the tenant's row-level security: another tenant's edges do not exist.</summary>
[StatelessWorker]
public sealed class LineageGrain(TenantDatabase database, LineageSql lineageSql, AccessGuard guard) : Grain, ILineageGrain
{
    /// <inheritdoc />
    public async Task<LineageTrace> TraceAsync(LineageQuery query)
    {
        var access = await guard.AuthorizeAsync(this.GetPrimaryKeyString(), Permissions.ModelsRead,
            new AuditEvent("data_access", "lineage", BoundedText.Fit($"{query?.ResourceType}:{query?.ResourceId}", 255)!, "trace"));
        Validate(query ?? throw PhantomException.Invalid("Send the query.", "body"));
        var upstream = query.Direction == "upstream";
        return await database.InTenantAsync(access.TenantId, async (_, transaction) =>
        {
            if (!await lineageSql.ExistsAsync(transaction, query.ResourceType, query.ResourceId))
            {
                throw PhantomException.NotFound(query.ResourceType, query.ResourceId);
            }

            var links = await lineageSql.WalkAsync(transaction, query.ResourceType, query.ResourceId, upstream, query.Depth, query.Limit + 1);
            var truncated = links.Count > query.Limit;
            return new LineageTrace(query.ResourceType, query.ResourceId, query.Direction, truncated ? links[..query.Limit] : links, truncated);
        });
    }

    private static void Validate(LineageQuery query)
    {
        if (query.ResourceType is null || !LineageKinds.All.Contains(query.ResourceType))
        {
            throw PhantomException.Invalid($"resourceType must be one of {string.Join(", ", LineageKinds.All.Order())}.", "resourceType");
        }

        if (query.ResourceId is not { Length: > 0 and <= 255 } || query.ResourceId.Contains('\0'))
        {
            throw PhantomException.Invalid("resourceId is 1-255 characters, without NUL.", "resourceId");
        }

        if (query.Direction is not ("upstream" or "downstream"))
        {
            throw PhantomException.Invalid("direction must be upstream or downstream.", "direction");
        }

        if (query.Depth is < 1 or > 20)
        {
            throw PhantomException.Invalid("depth must be 1-20.", "depth");
        }

        if (query.Limit is < 1 or > 2000)
        {
            throw PhantomException.Invalid("limit must be 1-2000.", "limit");
        }
    }
}
