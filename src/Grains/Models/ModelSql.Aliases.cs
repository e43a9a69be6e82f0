using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Models;

/// <summary>The SQL of model_aliases: the aliases, their targets and their traffic rules; inside a tenant's unit of work.</summary>
public sealed partial class ModelSql
{
    public async Task<Dictionary<string, string>> ListAliasesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
                WHERE a.tenant_id = @tenant AND a.model_id = @model ORDER BY a.alias
            """);
        command.Parameters.AddWithValue("model", modelId);
        var aliases = new Dictionary<string, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            aliases[reader.GetString(0)] = reader.GetString(1);
        }

        return aliases;
    }

    /// <summary>The traffic rules of the model's aliases that have any (challenger and shadow as version labels).</summary>
    public async Task<Dictionary<string, AliasTraffic>> ListAliasTrafficAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT a.alias, c.version, CASE WHEN c.id IS NULL THEN 0 ELSE a.challenger_percent END, s.version
              FROM model_aliases a
              LEFT JOIN model_versions c ON c.id = a.challenger_version_id
              LEFT JOIN model_versions s ON s.id = a.shadow_version_id
             WHERE a.tenant_id = @tenant AND a.model_id = @model AND (a.challenger_version_id IS NOT NULL OR a.shadow_version_id IS NOT NULL)
             ORDER BY a.alias
            """);
        command.Parameters.AddWithValue("model", modelId);
        var traffic = new Dictionary<string, AliasTraffic>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            traffic[reader.GetString(0)] = new AliasTraffic(reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3));
        }

        return traffic;
    }

    /// <summary>Sets an alias's challenger (with its percentage) and shadow; false when the alias does not exist.</summary>
    public async Task<bool> SetAliasTrafficAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId, string alias,
        Guid? challengerVersionId, int challengerPercent, Guid? shadowVersionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE model_aliases SET challenger_version_id = @challenger, challenger_percent = @percent, shadow_version_id = @shadow,
                updated_at = now()
             WHERE tenant_id = @tenant AND model_id = @model AND alias = @alias
            """);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("alias", alias);
        command.Parameters.Add(new NpgsqlParameter("challenger",
            NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)challengerVersionId ?? DBNull.Value });
        command.Parameters.AddWithValue("percent", (short)challengerPercent);
        command.Parameters.Add(new NpgsqlParameter("shadow", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)shadowVersionId ?? DBNull.Value });
        return await command.ExecuteNonQueryAsync() > 0;
    }

    /// <summary>Points an alias at a version in one statement, so readers see the old or the new target, never none.</summary>
    public async Task SetAliasAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model, string alias, Guid versionId)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO model_aliases (tenant_id, model_id, alias, version_id) VALUES (@tenant, @model, @alias, @version)
            ON CONFLICT (tenant_id, model_id, alias) DO UPDATE
               SET version_id = excluded.version_id, updated_at = now(),
                   -- a split is between two named versions: moving the alias elsewhere ends it
                   challenger_version_id = CASE WHEN model_aliases.version_id = excluded.version_id THEN model_aliases.challenger_version_id END,
                   challenger_percent = CASE WHEN model_aliases.version_id = excluded.version_id THEN model_aliases.challenger_percent ELSE 0 END,
                   shadow_version_id = CASE WHEN model_aliases.version_id = excluded.version_id THEN model_aliases.shadow_version_id END
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", model.TenantId);
        command.Parameters.AddWithValue("model", model.Id);
        command.Parameters.AddWithValue("alias", alias);
        command.Parameters.AddWithValue("version", versionId);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<bool> RemoveAliasAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId, string alias)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "DELETE FROM model_aliases WHERE tenant_id = @tenant AND model_id = @model AND alias = @alias");
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("alias", alias);
        return await command.ExecuteNonQueryAsync() > 0;
    }
}
