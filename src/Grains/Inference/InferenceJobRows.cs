using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// inference_jobs rows, written many at a time in one statement (arrays unnested server-side) inside a tenant's unit of
/// work. COPY would be faster but PostgreSQL refuses COPY FROM into tables with row-level security. Ids are chosen by
/// the caller and a repeated id is ignored, so a retried write after an unclear failure stores each row once.
/// </summary>
public static class InferenceJobRows
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Inserts one row per record, all of the unit of work's tenant.</summary>
    public static async Task InsertAsync(NpgsqlTransaction transaction, IReadOnlyList<InferenceRecord> records, CancellationToken cancellationToken = default)
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
        command.Parameters.Add(new NpgsqlParameter("confidences", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = records.Select(r => r.MeanConfidence).ToArray() });
        command.Parameters.AddWithValue("ms", records.Select(r => (int)Math.Min(int.MaxValue, Math.Round(r.InferenceMs))).ToArray());
        command.Parameters.AddWithValue("at", records.Select(r => r.At).ToArray());
        command.Parameters.AddWithValue("users", records.Select(r => r.UserId.Length <= 255 ? r.UserId : r.UserId[..255]).ToArray());
        command.Parameters.Add(new NpgsqlParameter("batches", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = records.Select(r => r.BatchId).ToArray() });
        command.Parameters.AddWithValue("metadata", records.Select(r => JsonSerializer.Serialize(new
        {
            requestId = r.RequestId, route = r.Route, alias = r.Alias, cached = r.Cached, rows = r.Rows.Count, inferenceMs = r.InferenceMs, sessionId = r.SessionId,
        }, Json)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
