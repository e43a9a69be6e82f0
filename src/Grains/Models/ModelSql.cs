using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Models;

/// <summary>
/// The SQL of the model registry: models, versions, lineage and search here, aliases in <c>ModelSql.Aliases.cs</c>,
/// artifacts and upload tickets in <c>ModelSql.Artifacts.cs</c>, the rename in <c>ModelSql.Rename.cs</c>; always inside a
/// tenant's unit of work. Every query names <c>tenant_id = @tenant</c> itself (see <see cref="TenantDatabase.TenantCommand"/>),
/// although row-level security adds the same condition: written out, it lets PostgreSQL prune to the tenant's one hash
/// partition and use the (tenant_id, ...) indexes.
/// </summary>
public sealed partial class ModelSql
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string ModelColumns = """
        id, tenant_id, name, model_type, algorithm, status::text, version, feature_count, training_samples,
        coalesce(tags, '{}')::text, metadata::text, created_at, updated_at, created_by, row_version
        """;

    private static ModelRecord ReadModel(NpgsqlDataReader reader) => new(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2),
        reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetInt64(8),
        JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9), Json) ?? [], reader.IsDBNull(10) ? null : reader.GetString(10),
        reader.GetFieldValue<DateTimeOffset>(11), reader.GetFieldValue<DateTimeOffset>(12), reader.GetString(13), reader.GetInt64(14));

    public async Task<ModelRecord?> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {ModelColumns} FROM models WHERE tenant_id = @tenant AND name = @name");
        command.Parameters.AddWithValue("name", name);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadModel(reader) : null;
    }

    public async Task<ModelRecord> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO models (id, tenant_id, name, model_type, algorithm, status, feature_count, training_samples, tags, metadata, created_by)
            VALUES (@id, @tenant, @name, @type, @algorithm, 'created', @features, @samples, @tags, @metadata, @createdBy)
            RETURNING {ModelColumns}
            """, connection, transaction);
        command.Parameters.AddWithValue("id", model.Id);
        command.Parameters.AddWithValue("tenant", model.TenantId);
        command.Parameters.AddWithValue("name", model.Name);
        command.Parameters.AddWithValue("createdBy", model.CreatedBy);
        AddMutable(command.Parameters, model);
        return await SingleAsync(command);
    }

    /// <summary>Writes the mutable columns if the row is still at <paramref name="expectedVersion"/>; null when it is not.</summary>
    public async Task<ModelRecord?> UpdateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model, long expectedVersion,
        string? activeVersion = null, bool setActive = false)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, UpdateSql);
        AddUpdate(command.Parameters, model, expectedVersion, changes: 1, activeVersion, setActive);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadModel(reader) : null;
    }

    public async Task DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "DELETE FROM models WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", modelId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The row changes of a group commit as one statement of a tenant batch (<c>@tenant</c> bound by the batch): writes
    /// the last state if the row is still at <paramref name="expectedVersion"/> and moves the ETag by
    /// <paramref name="changes"/>; read its result with <see cref="ReadUpdatedAsync"/>.
    /// </summary>
    public static NpgsqlBatchCommand UpdateRowCommand(ModelRecord model, long expectedVersion, int changes)
    {
        var command = new NpgsqlBatchCommand(UpdateSql);
        AddUpdate(command.Parameters, model, expectedVersion, changes, activeVersion: null, setActive: false);
        return command;
    }

    /// <summary>The row <see cref="UpdateRowCommand"/> wrote; null when the row was not at the expected version.</summary>
    public static async Task<ModelRecord?> ReadUpdatedAsync(NpgsqlDataReader reader) => await reader.ReadAsync() ? ReadModel(reader) : null;

    /// <summary>
    /// Writes the mutable columns (and, when <c>@setActive</c>, the active version's) if the row is still at
    /// <c>@expected</c>, moving the ETag by <c>@changes</c>.
    /// </summary>
    private const string UpdateSql = $"""
        UPDATE models
           SET model_type = @type, algorithm = @algorithm, status = @status::model_status_enum, feature_count = @features,
               training_samples = @samples, tags = @tags, metadata = @metadata,
               version = CASE WHEN @setActive THEN @active ELSE version END,
               artifact_uri = CASE WHEN @setActive THEN (SELECT artifact_uri FROM model_versions
                   WHERE tenant_id = @tenant AND model_id = @id AND version = @active) ELSE artifact_uri END,
               accuracy = CASE WHEN @setActive THEN (SELECT accuracy FROM model_versions
                   WHERE tenant_id = @tenant AND model_id = @id AND version = @active) ELSE accuracy END,
               precision_score = CASE WHEN @setActive THEN (SELECT precision_score FROM model_versions
                   WHERE tenant_id = @tenant AND model_id = @id AND version = @active) ELSE precision_score END,
               recall_score = CASE WHEN @setActive THEN (SELECT recall_score FROM model_versions
                   WHERE tenant_id = @tenant AND model_id = @id AND version = @active) ELSE recall_score END,
               f1_score = CASE WHEN @setActive THEN (SELECT f1_score FROM model_versions
                   WHERE tenant_id = @tenant AND model_id = @id AND version = @active) ELSE f1_score END,
               row_version = row_version + @changes, updated_at = now()
         WHERE tenant_id = @tenant AND id = @id AND row_version = @expected
        RETURNING {ModelColumns}
        """;

    private static void AddUpdate(NpgsqlParameterCollection parameters, ModelRecord model, long expectedVersion, int changes, string? activeVersion,
        bool setActive)
    {
        parameters.AddWithValue("id", model.Id);
        parameters.AddWithValue("expected", expectedVersion);
        parameters.AddWithValue("changes", (long)changes);
        parameters.AddWithValue("status", model.Status);
        parameters.AddWithValue("setActive", setActive);
        parameters.Add(new NpgsqlParameter("active", NpgsqlDbType.Varchar) { Value = (object?)activeVersion ?? DBNull.Value });
        AddMutable(parameters, model);
    }

    private static void AddMutable(NpgsqlParameterCollection parameters, ModelRecord model)
    {
        parameters.AddWithValue("type", model.ModelType);
        parameters.AddWithValue("algorithm", model.Algorithm);
        parameters.Add(new NpgsqlParameter("features", NpgsqlDbType.Integer) { Value = (object?)model.FeatureCount ?? DBNull.Value });
        parameters.Add(new NpgsqlParameter("samples", NpgsqlDbType.Bigint) { Value = (object?)model.TrainingSamples ?? DBNull.Value });
        parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(model.Tags, Json) });
        parameters.Add(new NpgsqlParameter("metadata", NpgsqlDbType.Jsonb) { Value = (object?)model.Metadata ?? DBNull.Value });
    }

    private static async Task<ModelRecord> SingleAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return ReadModel(reader);
    }

    // ---- Versions ---------------------------------------------------------------------------------

    private const string VersionColumns = """
        id, version, parent_version, changelog, accuracy::float8, precision_score::float8, recall_score::float8, f1_score::float8,
        coalesce(performance_metrics, '{}')::text, coalesce(performance_delta, '{}')::text, is_active, artifact_uri, created_at, created_by,
        source, training_job_id, tags::text, archived_at
        """;

    public async Task<ModelVersionView> InsertVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model,
        RegisterVersion version, IReadOnlyDictionary<string, double> delta, string createdBy)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO model_versions (tenant_id, model_id, version, parent_version, changelog, accuracy, precision_score, recall_score,
                                        f1_score, performance_metrics, performance_delta, created_by, source, training_job_id)
            VALUES (@tenant, @model, @version, @parent, @changelog, @accuracy, @precision, @recall, @f1, @metrics, @delta, @createdBy, @source,
                    @trainingJob)
            RETURNING {VersionColumns}
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", model.TenantId);
        command.Parameters.AddWithValue("model", model.Id);
        command.Parameters.AddWithValue("version", version.Version);
        command.Parameters.Add(new NpgsqlParameter("parent", NpgsqlDbType.Varchar) { Value = (object?)version.ParentVersion ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("changelog", NpgsqlDbType.Text) { Value = (object?)version.Changelog ?? DBNull.Value });
        foreach (var (name, value) in new[] { ("accuracy", version.Accuracy), ("precision", version.Precision), ("recall", version.Recall),
            ("f1", version.F1) })
        {
            command.Parameters.Add(new NpgsqlParameter(name,
                NpgsqlDbType.Numeric) { Value = value is { } v ? (object)Math.Round((decimal)v, 4) : DBNull.Value });
        }

        command.Parameters.Add(new NpgsqlParameter("metrics",
            NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(version.PerformanceMetrics ?? new Dictionary<string, double>(), Json) });
        command.Parameters.Add(new NpgsqlParameter("delta", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(delta, Json) });
        command.Parameters.AddWithValue("createdBy", createdBy);
        command.Parameters.Add(new NpgsqlParameter("source", NpgsqlDbType.Text) { Value = (object?)version.Source ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("trainingJob", NpgsqlDbType.Uuid) { Value = (object?)version.TrainingJobId ?? DBNull.Value });
        return (await ReadVersionsAsync(command)).Single();
    }

    /// <summary>Sets a version's changelog (when not null) and replaces its tags.</summary>
    public async Task<ModelVersionView> UpdateVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId,
        string? changelog, IReadOnlyDictionary<string, string> tags)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE model_versions SET changelog = coalesce(@changelog, changelog), tags = @tags
             WHERE tenant_id = @tenant AND id = @id
            RETURNING {VersionColumns}
            """);
        command.Parameters.AddWithValue("id", versionId);
        command.Parameters.Add(new NpgsqlParameter("changelog", NpgsqlDbType.Text) { Value = (object?)changelog ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(tags, Json) });
        return (await ReadVersionsAsync(command)).Single();
    }

    public async Task<List<ModelVersionView>> ListVersionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {VersionColumns} FROM model_versions WHERE tenant_id = @tenant AND model_id = @model ORDER BY created_at, id");
        command.Parameters.AddWithValue("model", modelId);
        return await ReadVersionsAsync(command);
    }

    /// <summary>Deletes a version; its aliases and artifact row go with it (foreign keys cascade).</summary>
    public async Task DeleteVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, "DELETE FROM model_versions WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", versionId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Makes exactly one version active (two statements: the one-active unique index is checked row by row). An archived
    /// version brought back into service is no longer archived.
    /// </summary>
    public async Task ActivateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId, Guid versionId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE model_versions SET is_active = false WHERE tenant_id = @tenant AND model_id = @model AND is_active AND id <> @version;
            UPDATE model_versions SET is_active = true, archived_at = NULL WHERE tenant_id = @tenant AND model_id = @model AND id = @version;
            """);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("version", versionId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Archives a version (from now, unless it is archived already) or brings it back.</summary>
    public async Task<ModelVersionView> SetArchivedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId, bool archived)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE model_versions SET archived_at = CASE WHEN @archived THEN coalesce(archived_at, now()) END
             WHERE tenant_id = @tenant AND id = @id
            RETURNING {VersionColumns}
            """);
        command.Parameters.AddWithValue("id", versionId);
        command.Parameters.AddWithValue("archived", archived);
        return (await ReadVersionsAsync(command)).Single();
    }

    private static async Task<List<ModelVersionView>> ReadVersionsAsync(NpgsqlCommand command)
    {
        var versions = new List<ModelVersionView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            versions.Add(new ModelVersionView(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), Nullable(reader, 4), Nullable(reader, 5), Nullable(reader, 6), Nullable(reader, 7),
                JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(8), Json) ?? [],
                JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(9), Json) ?? [],
                reader.GetBoolean(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.GetFieldValue<DateTimeOffset>(12),
                    reader.GetString(13), reader.IsDBNull(14) ? null : reader.GetString(14), reader.IsDBNull(15) ? null : reader.GetGuid(15),
                    JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(16), Json) ?? [],
                    reader.IsDBNull(17) ? null : reader.GetFieldValue<DateTimeOffset>(17)));
        }

        return versions;
    }

    private static double? Nullable(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);

    // ---- Lineage ----------------------------------------------------------------------------------

    public async Task<LineageEdge> InsertLineageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model,
        ModelRecord parent, string lineageType, string? metadata)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO model_lineage (tenant_id, model_id, parent_model_id, lineage_type, transformation_metadata)
            VALUES (@tenant, @model, @parent, @type::lineage_type_enum, @metadata)
            RETURNING created_at
            """, connection, transaction);
        command.Parameters.AddWithValue("tenant", model.TenantId);
        command.Parameters.AddWithValue("model", model.Id);
        command.Parameters.AddWithValue("parent", parent.Id);
        command.Parameters.AddWithValue("type", lineageType);
        command.Parameters.Add(new NpgsqlParameter("metadata", NpgsqlDbType.Jsonb) { Value = (object?)metadata ?? DBNull.Value });
        var created = (DateTime)(await command.ExecuteScalarAsync())!;
        return new LineageEdge(model.Name, parent.Name, lineageType, metadata, new DateTimeOffset(created, TimeSpan.Zero));
    }

    /// <summary>Edges reachable from the model upwards (ancestors) or downwards (descendants), at most <paramref name="depth"/> away.</summary>
    public async Task<List<LineageEdge>> WalkLineageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid modelId, int depth,
        bool up)
    {
        var (from, to) = up ? ("model_id", "parent_model_id") : ("parent_model_id", "model_id");
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            WITH RECURSIVE walk (edge_id, next_id, depth) AS (
                SELECT l.id, l.{to}, 1 FROM model_lineage l WHERE l.tenant_id = @tenant AND l.{from} = @model
                UNION
                SELECT l.id, l.{to}, w.depth + 1 FROM model_lineage l JOIN walk w ON l.{from} = w.next_id
                    WHERE l.tenant_id = @tenant AND w.depth < @depth
            )
            SELECT DISTINCT m.name, p.name, l.lineage_type::text, l.transformation_metadata::text, l.created_at
              FROM walk w JOIN model_lineage l ON l.tenant_id = @tenant AND l.id = w.edge_id
              JOIN models m ON m.tenant_id = @tenant AND m.id = l.model_id
              LEFT JOIN models p ON p.tenant_id = @tenant AND p.id = l.parent_model_id
             ORDER BY l.created_at
            """);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("depth", depth);
        var edges = new List<LineageEdge>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            edges.Add(new LineageEdge(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return edges;
    }

    /// <summary>
    /// A page of the tenant's models matching <paramref name="search"/>, by name or newest first, after the keyset cursor
    /// (<paramref name="afterName"/>, or <paramref name="afterTime"/> and <paramref name="afterId"/>), with their aliases;
    /// <paramref name="limit"/> models at most.
    /// </summary>
    public async Task<List<ModelView>> SearchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelSearch search,
        string? tagKey, string? tagValue, string? afterName, DateTimeOffset? afterTime, Guid? afterId, int limit)
    {
        var byName = search.Sort == "name";
        var after = byName ? "(@afterName::text IS NULL OR name > @afterName)"
            : "(@afterTime::timestamptz IS NULL OR (created_at, id) < (@afterTime, @afterId))";
        var order = byName ? "name" : "created_at DESC, id DESC";
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {ModelColumns} FROM models
             WHERE tenant_id = @tenant
               AND (@prefix::text IS NULL OR name LIKE @prefix || '%')
               AND (@type::text IS NULL OR model_type = @type)
               AND (@status::text IS NULL OR status::text = @status)
               AND (@algorithm::text IS NULL OR algorithm = @algorithm)
               AND (@tagKey::text IS NULL OR (CASE WHEN @tagValue::text IS NULL THEN tags ? @tagKey ELSE tags ->> @tagKey = @tagValue END))
               AND (@from::timestamptz IS NULL OR created_at >= @from)
               AND (@to::timestamptz IS NULL OR created_at < @to)
               AND {after}
             ORDER BY {order}
             LIMIT @limit
            """);
        command.AddOptional("prefix", NpgsqlDbType.Text, search.NamePrefix?.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_"));
        command.AddOptional("type", NpgsqlDbType.Text, search.ModelType);
        command.AddOptional("status", NpgsqlDbType.Text, search.Status);
        command.AddOptional("algorithm", NpgsqlDbType.Text, search.Algorithm);
        command.AddOptional("tagKey", NpgsqlDbType.Text, tagKey);
        command.AddOptional("tagValue", NpgsqlDbType.Text, tagValue);
        command.AddOptional("from", NpgsqlDbType.TimestampTz, search.CreatedFrom);
        command.AddOptional("to", NpgsqlDbType.TimestampTz, search.CreatedTo);
        command.AddOptional("afterName", NpgsqlDbType.Text, afterName);
        command.AddOptional("afterTime", NpgsqlDbType.TimestampTz, afterTime);
        command.AddOptional("afterId", NpgsqlDbType.Uuid, afterId);
        command.Parameters.AddWithValue("limit", limit);

        var models = new List<ModelRecord>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                models.Add(ReadModel(reader));
            }
        }

        var views = new List<ModelView>();
        foreach (var model in models)
        {
            views.Add(model.ToView(await ListAliasesAsync(connection, transaction, model.Id)));
        }

        return views;
    }
}
