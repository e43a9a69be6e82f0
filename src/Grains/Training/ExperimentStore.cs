using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Training;

/// <summary>The SQL of training_experiments: the trials of a job's hyperparameter search.</summary>
public static class ExperimentStore
{
    public static Task<Guid> InsertAsync(TenantDatabase database, Guid tenantId, Guid jobId, string name, string parameters) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO training_experiments (tenant_id, training_job_id, experiment_name, parameters, started_at, status)
                VALUES (@tenant, @job, @name, @parameters, now(), 'running') RETURNING id
                """);
            command.Parameters.AddWithValue("job", jobId);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.Add(new Npgsql.NpgsqlParameter("parameters", NpgsqlDbType.Jsonb) { Value = parameters });
            return (Guid)(await command.ExecuteScalarAsync())!;
        });

    public static Task FinishAsync(TenantDatabase database, Guid tenantId, Guid experimentId, string status, string metrics) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                UPDATE training_experiments SET status = @status::experiment_status_enum, metrics = @metrics, completed_at = now()
                 WHERE tenant_id = @tenant AND id = @id
                """);
            command.Parameters.AddWithValue("id", experimentId);
            command.Parameters.AddWithValue("status", status);
            command.Parameters.Add(new Npgsql.NpgsqlParameter("metrics", NpgsqlDbType.Jsonb) { Value = metrics });
            return await command.ExecuteNonQueryAsync();
        });

    public static async Task<List<ExperimentView>> ListAsync(Npgsql.NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT id, experiment_name, parameters::text, metrics::text, status::text, started_at, completed_at
              FROM training_experiments WHERE tenant_id = @tenant AND training_job_id = @job ORDER BY started_at, id
            """);
        command.Parameters.AddWithValue("job", jobId);
        var experiments = new List<ExperimentView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            experiments.Add(new ExperimentView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return experiments;
    }
}
