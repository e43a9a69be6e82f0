using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// The SQL of inference: inference_batches (one row per batch job) and inference_jobs (one row per recorded request),
/// inside the tenant's unit of work.
/// </summary>
public sealed class InferenceSql
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Columns = """
        id, model_name, model_version, input_uri, status::text, total_rows, processed_rows, failed_rows, output_path, errors_path, error_message,
        attempt, created_at, started_at, completed_at, created_by, updated_at, model_id, input_path
        """;

    /// <summary>A batch row with what a run needs besides the view.</summary>
    public sealed record Row(BatchView View, DateTimeOffset UpdatedAt, Guid ModelId, string InputPath);

    public async Task InsertAsync(NpgsqlTransaction transaction, Guid id, Guid modelId, string model, string version, string inputUri,
        string inputPath, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO inference_batches (id, tenant_id, model_id, model_name, model_version, input_uri, input_path, created_by)
            VALUES (@id, @tenant, @model, @name, @version, @uri, @path, @by)
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("name", model);
        command.Parameters.AddWithValue("version", version);
        command.Parameters.AddWithValue("uri", inputUri);
        command.Parameters.AddWithValue("path", inputPath);
        command.Parameters.AddWithValue("by", createdBy.Length <= 255 ? createdBy : createdBy[..255]);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The tenant's batches pending or running, under the tenant's admission lock for the rest of the transaction.</summary>
    public async Task<long> CountUnfinishedAsync(NpgsqlTransaction transaction)
    {
        await using (var @lock = TenantDatabase.TenantCommand(transaction,
            "SELECT pg_advisory_xact_lock(hashtextextended('batch-admission:' || @tenant::text, 0))"))
        {
            await @lock.ExecuteNonQueryAsync();
        }

        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT count(*) FROM inference_batches WHERE tenant_id = @tenant AND status IN ('pending', 'running')");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task<Row?> FindAsync(NpgsqlTransaction transaction, Guid id)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {Columns} FROM inference_batches WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var total = reader.IsDBNull(5) ? (long?)null : reader.GetInt64(5);
        var (processed, failed) = (reader.GetInt64(6), reader.GetInt64(7));
        var status = reader.GetString(4);
        var progress = status == "completed" ? 1.0 : total is > 0 ? Math.Min(1.0, (processed + failed) / (double)total) : 0.0;
        var view = new BatchView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), status, total, processed, failed,
            progress, Text(reader, 8), Text(reader, 9), Text(reader, 10), reader.GetInt32(11), reader.GetFieldValue<DateTimeOffset>(12),
            reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13),
                reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
            reader.GetString(15));
        return new Row(view, reader.GetFieldValue<DateTimeOffset>(16), reader.GetGuid(17), reader.GetString(18));
    }

    /// <summary>Starts (or restarts) a run: counters reset, rows of an earlier attempt removed; false unless pending or running.</summary>
    public async Task<bool> StartAsync(NpgsqlTransaction transaction, Guid id, long totalRows, bool restart)
    {
        await using (var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE inference_batches
               SET status = 'running', total_rows = @total, processed_rows = 0, failed_rows = 0, started_at = coalesce(started_at, now()),
                   attempt = attempt + CASE WHEN @restart THEN 1 ELSE 0 END, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status IN ('pending', 'running')
            """))
        {
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("total", totalRows);
            command.Parameters.AddWithValue("restart", restart);
            if (await command.ExecuteNonQueryAsync() == 0)
            {
                return false;
            }
        }

        await using var forget = TenantDatabase.TenantCommand(transaction, "DELETE FROM inference_jobs WHERE tenant_id = @tenant AND batch_id = @id");
        forget.Parameters.AddWithValue("id", id);
        await forget.ExecuteNonQueryAsync();
        return true;
    }

    /// <summary>Adds a chunk's counts; false when the batch is no longer running (cancelled): the chunk then rolls back.</summary>
    public async Task<bool> AdvanceAsync(NpgsqlTransaction transaction, Guid id, long processed, long failed)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE inference_batches SET processed_rows = processed_rows + @processed, failed_rows = failed_rows + @failed, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status = 'running'
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("processed", processed);
        command.Parameters.AddWithValue("failed", failed);
        return await command.ExecuteNonQueryAsync() > 0;
    }

    /// <summary>Moves the batch to a final status from one of <paramref name="from"/>; false when it was in none of them.</summary>
    public async Task<bool> FinishAsync(NpgsqlTransaction transaction, Guid id, string status, string[] from, string? outputPath = null,
        string? errorsPath = null, string? error = null)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE inference_batches
               SET status = @status::inference_status_enum, output_path = @output, errors_path = @errors, error_message = @error,
                   completed_at = now(), updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status::text = ANY(@from)
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.Add(new NpgsqlParameter("output", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)outputPath ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("errors", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)errorsPath ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("error", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)error ?? DBNull.Value });
        return await command.ExecuteNonQueryAsync() > 0;
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>
    /// Inserts an inference_jobs row per recorded request, all of the unit of work's tenant, in one statement (arrays
    /// unnested server-side): COPY would be faster but PostgreSQL refuses COPY FROM into tables with row-level security.
    /// Ids are chosen by the caller and a repeated id is ignored, so a retried write after an unclear failure stores each
    /// row once.
    /// </summary>
    public async Task InsertRequestsAsync(NpgsqlTransaction transaction, IReadOnlyList<InferenceRecord> records,
        CancellationToken cancellationToken = default)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO inference_jobs (id, tenant_id, model_id, model_version, input_data, prediction, confidence_score, inference_time_ms,
                                        status, created_at, completed_at, created_by, batch_id, metadata)
            SELECT r.id, @tenant, r.model_id, r.version, r.input::jsonb, r.prediction::jsonb, round(r.confidence::numeric, 4), r.ms,
                   'completed', r.at, r.at, r.created_by, r.batch_id, r.metadata::jsonb
              FROM unnest(@ids, @models, @versions, @inputs, @predictions, @confidences, @ms, @at, @users, @batches, @metadata)
                   AS r(id, model_id, version, input, prediction, confidence, ms, at, created_by, batch_id, metadata)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.AddWithValue("ids", records.Select(r => r.Id).ToArray());
        command.Parameters.AddWithValue("models", records.Select(r => r.ModelId).ToArray());
        command.Parameters.AddWithValue("versions", records.Select(r => r.Version).ToArray());
        command.Parameters.AddWithValue("inputs", records.Select(r => JsonSerializer.Serialize(r.Rows, Json)).ToArray());
        command.Parameters.AddWithValue("predictions", records.Select(r => JsonSerializer.Serialize(
            r.Predictions.Select(p => new { p.Prediction, p.Confidence }), Json)).ToArray());
        command.Parameters.Add(new NpgsqlParameter("confidences",
            NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = records.Select(r => r.MeanConfidence).ToArray() });
        command.Parameters.AddWithValue("ms", records.Select(r => (int)Math.Min(int.MaxValue, Math.Round(r.InferenceMs))).ToArray());
        command.Parameters.AddWithValue("at", records.Select(r => r.At).ToArray());
        command.Parameters.AddWithValue("users", records.Select(r => r.UserId.Length <= 255 ? r.UserId : r.UserId[..255]).ToArray());
        command.Parameters.Add(new NpgsqlParameter("batches",
            NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = records.Select(r => r.BatchId).ToArray() });
        command.Parameters.AddWithValue("metadata", records.Select(r => JsonSerializer.Serialize(new
        {
            requestId = r.RequestId, route = r.Route, alias = r.Alias, cached = r.Cached, rows = r.Rows.Count, inferenceMs = r.InferenceMs,
                sessionId = r.SessionId,
        }, Json)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
