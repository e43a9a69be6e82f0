using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Lineage;

/// <summary>
/// data_lineage: edges written inside the transaction of the change they describe (so a change and its lineage commit
/// together), and walks up or down them with a depth bound.
/// </summary>
public sealed class LineageSql
{
    /// <summary>Records that <paramref name="resource"/> came from <paramref name="parent"/>; a repeated edge is kept once.</summary>
    public async Task RecordAsync(NpgsqlTransaction transaction, (string Type, string Id) resource, (string Type, string Id) parent,
        string transformation, string createdBy, string? metadata = null)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO data_lineage (tenant_id, resource_type, resource_id, parent_resource_type, parent_resource_id,
                                      transformation_type, transformation_metadata, created_by)
            VALUES (@tenant, @type, @id, @parentType, @parentId, @transformation, @metadata, @by)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.AddWithValue("type", resource.Type);
        command.Parameters.AddWithValue("id", resource.Id);
        command.Parameters.AddWithValue("parentType", parent.Type);
        command.Parameters.AddWithValue("parentId", parent.Id);
        command.Parameters.AddWithValue("transformation", transformation);
        command.AddOptional("metadata", NpgsqlDbType.Jsonb, metadata);
        command.Parameters.AddWithValue("by", createdBy);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Removes the model-to-model edges of a deleted model, as the registry removes its lineage with it.</summary>
    public async Task RemoveModelEdgesAsync(NpgsqlTransaction transaction, string model)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            DELETE FROM data_lineage
             WHERE tenant_id = @tenant AND parent_resource_type = 'model' AND resource_type = 'model'
               AND (resource_id = @model OR parent_resource_id = @model)
            """);
        command.Parameters.AddWithValue("model", model);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Whether the tenant has the training job: an edge names only the tenant's own resources.</summary>
    public async Task<bool> TrainingJobExistsAsync(NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT EXISTS (SELECT 1 FROM training_jobs WHERE tenant_id = @tenant AND id = @id)");
        command.Parameters.AddWithValue("id", jobId);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Whether any edge of the tenant starts or ends at the resource.</summary>
    public async Task<bool> ExistsAsync(NpgsqlTransaction transaction, string type, string id)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT EXISTS (SELECT 1 FROM data_lineage WHERE tenant_id = @tenant AND resource_type = @type AND resource_id = @id)
                OR EXISTS (SELECT 1 FROM data_lineage WHERE tenant_id = @tenant AND parent_resource_type = @type AND parent_resource_id = @id)
            """);
        command.Parameters.AddWithValue("type", type);
        command.Parameters.AddWithValue("id", id);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The edges up to <paramref name="depth"/> steps from the resource, each at the fewest steps it is reached in,
    /// nearest first, at most <paramref name="limit"/>. UNION (not UNION ALL) drops an edge reached again at the same
    /// depth, and the depth bound ends cycles and diamonds.
    /// </summary>
    public async Task<List<LineageLink>> WalkAsync(NpgsqlTransaction transaction, string type, string id, bool upstream, int depth, int limit)
    {
        // The two directions differ only in which end of an edge a step starts from.
        var (from, to) = upstream
            ? ("resource_type = {0}type AND l.resource_id = {0}id", "parent_resource_type, l.parent_resource_id")
            : ("parent_resource_type = {0}type AND l.parent_resource_id = {0}id", "resource_type, l.resource_id");
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            WITH RECURSIVE walk (edge_id, node_type, node_id, depth) AS (
                SELECT l.id, l.{to}, 1
                  FROM data_lineage l WHERE l.tenant_id = @tenant AND l.parent_resource_type IS NOT NULL AND l.{string.Format(from, "@")}
                UNION
                SELECT l.id, l.{to}, w.depth + 1
                  FROM walk w JOIN data_lineage l ON l.tenant_id = @tenant AND l.parent_resource_type IS NOT NULL
                   AND l.{string.Format(from, "w.node_")}
                 WHERE w.depth < @depth
            ), nearest AS (
                SELECT edge_id, min(depth) AS depth FROM walk GROUP BY edge_id
            )
            SELECT l.resource_type, l.resource_id, l.parent_resource_type, l.parent_resource_id, coalesce(l.transformation_type, ''),
                   l.transformation_metadata::text, l.created_at, l.created_by, n.depth
              FROM nearest n JOIN data_lineage l ON l.tenant_id = @tenant AND l.id = n.edge_id
             ORDER BY n.depth, l.created_at, l.id
             LIMIT @limit
            """);
        command.Parameters.AddWithValue("type", type);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("depth", depth);
        command.Parameters.AddWithValue("limit", limit);
        var links = new List<LineageLink>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            links.Add(new LineageLink(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), new DateTimeOffset(reader.GetDateTime(6), TimeSpan.Zero), reader.GetString(7),
                reader.GetInt32(8)));
        }

        return links;
    }
}
