using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Training;

/// <summary>
/// The SQL of training: jobs and the trials of their searches, inside a tenant's unit of work (the trial methods open
/// their own), and the watchdog's look across tenants.
/// </summary>
public sealed class TrainingSql(TenantDatabase database)
{
    /// <summary>The columns <see cref="Read"/> reads, in its order.</summary>
    internal const string Columns = """
        id, job_name, model_name, model_id, status::text, dataset_uri, config::text, hyperparameters::text, resource_requirements::text,
        priority, progress, attempt, created_at, scheduled_at, started_at, completed_at, error_message, metrics_summary::text, created_by,
            updated_at, runner
        """;

    /// <summary>Statuses that occupy one of the tenant's concurrent-training slots.</summary>
    public static readonly string[] Active = ["scheduled", "running"];

    public async Task<TrainingJobView?> LoadAsync(NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {Columns} FROM training_jobs WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", jobId);
        return await SingleAsync(command);
    }

    public async Task<TrainingJobView> InsertAsync(NpgsqlTransaction transaction, Guid jobId, Guid modelId, CreateTrainingJob job, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO training_jobs (id, tenant_id, model_id, model_name, job_name, config, dataset_uri, hyperparameters, resource_requirements,
                priority, created_by)
            VALUES (@id, @tenant, @model, @modelName, @name, @config, @dataset, @hyper, @resources, @priority, @createdBy)
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("model", modelId);
        command.Parameters.AddWithValue("modelName", job.ModelName);
        command.Parameters.AddWithValue("name", job.JobName);
        command.Parameters.Add(new NpgsqlParameter("config", NpgsqlDbType.Jsonb) { Value = job.Config ?? "{}" });
        command.Parameters.AddWithValue("dataset", job.DatasetUri);
        command.Parameters.Add(new NpgsqlParameter("hyper", NpgsqlDbType.Jsonb) { Value = (object?)job.Hyperparameters ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("resources", NpgsqlDbType.Jsonb) { Value = (object?)job.ResourceRequirements ?? DBNull.Value });
        command.Parameters.AddWithValue("priority", job.Priority);
        command.Parameters.AddWithValue("createdBy", createdBy);
        return (await SingleAsync(command))!;
    }

    /// <summary>
    /// Moves the job from one of <paramref name="from"/> to <paramref name="to"/>, setting the time column the
    /// move stands for; null when the job is no longer in one of those statuses (someone else moved it first).
    /// </summary>
    public async Task<TrainingJobView?> TransitionAsync(NpgsqlTransaction transaction, Guid jobId, string[] from, string to,
        string? errorMessage = null, string? metricsSummary = null, string? runner = null)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE training_jobs
               SET status = @to::training_status_enum,
                   scheduled_at = CASE WHEN @to = 'scheduled' THEN now() WHEN @to = 'pending' THEN NULL ELSE scheduled_at END,
                   started_at = CASE WHEN @to = 'running' THEN now() WHEN @to = 'pending' THEN NULL ELSE started_at END,
                   completed_at = CASE WHEN @to IN ('completed', 'failed',
                       'cancelled') THEN now() WHEN @to = 'pending' THEN NULL ELSE completed_at END,
                   progress = CASE WHEN @to = 'completed' THEN 1 WHEN @to = 'pending' THEN 0 ELSE progress END,
                   attempt = CASE WHEN @to = 'pending' THEN attempt + 1 ELSE attempt END,
                   error_message = CASE WHEN @to = 'pending' THEN NULL ELSE coalesce(@error, error_message) END,
                   metrics_summary = coalesce(@summary, metrics_summary),
                   runner = CASE WHEN @to = 'pending' THEN NULL ELSE coalesce(@runner, runner) END,
                   updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status::text = ANY(@from)
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("to", to);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("error", NpgsqlDbType.Text, (object?)errorMessage ?? DBNull.Value);
        command.Parameters.Add(new NpgsqlParameter("summary", NpgsqlDbType.Jsonb) { Value = (object?)metricsSummary ?? DBNull.Value });
        command.AddOptional("runner", NpgsqlDbType.Varchar, runner);
        return await SingleAsync(command);
    }

    /// <summary>Merges <paramref name="parameters"/> (a JSON object) into the job's hyperparameters.</summary>
    public async Task<TrainingJobView?> MergeParamsAsync(NpgsqlTransaction transaction, Guid jobId, string parameters)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE training_jobs SET hyperparameters = coalesce(hyperparameters, '{"{}"}'::jsonb) || @params, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.Add(new NpgsqlParameter("params", NpgsqlDbType.Jsonb) { Value = parameters });
        return await SingleAsync(command);
    }

    /// <summary>A running job's heartbeat: its runner is alive.</summary>
    public async Task TouchAsync(NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE training_jobs SET updated_at = now() WHERE tenant_id = @tenant AND id = @id AND status = 'running'");
        command.Parameters.AddWithValue("id", jobId);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<TrainingJobView?> SetProgressAsync(NpgsqlTransaction transaction, Guid jobId, double progress)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE training_jobs SET progress = @progress, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND status = 'running'
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("progress", (float)progress);
        return await SingleAsync(command);
    }

    /// <summary>
    /// Schedules the next pending jobs, by priority then age, into the slots <paramref name="limit"/> leaves free.
    /// The tenant's scheduler is one activation, so two pumps of one tenant never overlap.
    /// </summary>
    public async Task<List<Guid>> ScheduleNextAsync(NpgsqlTransaction transaction, long limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            WITH free AS (
                SELECT greatest(@limit - count(*), 0) AS slots FROM training_jobs WHERE tenant_id = @tenant AND status IN ('scheduled', 'running')
                   AND project_id IS NULL
            ), next AS (
                SELECT id FROM training_jobs
                 WHERE tenant_id = @tenant AND status = 'pending' AND project_id IS NULL
                 ORDER BY priority DESC, created_at, id
                 LIMIT (SELECT slots FROM free)
                 FOR UPDATE SKIP LOCKED
            )
            UPDATE training_jobs j SET status = 'scheduled', scheduled_at = now(), updated_at = now()
              FROM next WHERE j.tenant_id = @tenant AND j.id = next.id AND j.status = 'pending'
            RETURNING j.id
            """);
        command.Parameters.AddWithValue("limit", limit);
        var scheduled = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            scheduled.Add(reader.GetGuid(0));
        }

        return scheduled;
    }

    public async Task<List<TrainingJobView>> ListAsync(NpgsqlTransaction transaction, string? status, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {Columns} FROM training_jobs
             WHERE tenant_id = @tenant AND (@status::text IS NULL OR status::text = @status)
             ORDER BY created_at DESC, id DESC LIMIT @limit
            """);
        command.AddOptional("status", NpgsqlDbType.Text, status);
        command.Parameters.AddWithValue("limit", limit);
        var jobs = new List<TrainingJobView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            jobs.Add(Read(reader));
        }

        return jobs;
    }

    private static async Task<TrainingJobView?> SingleAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>A job from the first columns of a row selected with <see cref="Columns"/>.</summary>
    internal static TrainingJobView Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetGuid(3), reader.GetString(4),
        reader.GetString(5), reader.GetString(6), NullableString(reader, 7), NullableString(reader, 8), reader.GetInt32(9), reader.GetFloat(10),
        reader.GetInt32(11), reader.GetFieldValue<DateTimeOffset>(12), NullableTime(reader, 13), NullableTime(reader, 14), NullableTime(reader, 15),
        NullableString(reader, 16), NullableString(reader, 17), reader.GetString(18), reader.GetFieldValue<DateTimeOffset>(19),
            NullableString(reader, 20));

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    /// <summary>Jobs of any tenant silent since <paramref name="since"/> (running) or left scheduled, for the watchdog.</summary>
    public async Task<List<(string TenantKey, Guid JobId, string Status)>> StaleJobsAsync(DateTimeOffset since, int limit)
    {
        var stale = new List<(string TenantKey, Guid JobId, string Status)>();
        await using var command = database.CreateCommand("SELECT tenant_key, job_id, status FROM phantom_stale_training_jobs(@since, @limit)");
        command.Parameters.AddWithValue("since", since);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            stale.Add((reader.GetString(0), reader.GetGuid(1), reader.GetString(2)));
        }

        return stale;
    }

    /// <summary>Starts a trial of a job's hyperparameter search; returns its id.</summary>
    public Task<Guid> InsertExperimentAsync(Guid tenantId, Guid jobId, string name, string parameters) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                INSERT INTO training_experiments (tenant_id, training_job_id, experiment_name, parameters, started_at, status)
                VALUES (@tenant, @job, @name, @parameters, now(), 'running') RETURNING id
                """);
            command.Parameters.AddWithValue("job", jobId);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.Add(new NpgsqlParameter("parameters", NpgsqlDbType.Jsonb) { Value = parameters });
            return (Guid)(await command.ExecuteScalarAsync())!;
        });

    /// <summary>Ends a trial with its status and final metrics.</summary>
    public Task FinishExperimentAsync(Guid tenantId, Guid experimentId, string status, string metrics) =>
        database.InTenantAsync(tenantId, async (_, transaction) =>
        {
            await using var command = TenantDatabase.TenantCommand(transaction, """
                UPDATE training_experiments SET status = @status::experiment_status_enum, metrics = @metrics, completed_at = now()
                 WHERE tenant_id = @tenant AND id = @id
                """);
            command.Parameters.AddWithValue("id", experimentId);
            command.Parameters.AddWithValue("status", status);
            command.Parameters.Add(new NpgsqlParameter("metrics", NpgsqlDbType.Jsonb) { Value = metrics });
            return await command.ExecuteNonQueryAsync();
        });

    /// <summary>The trials of a job, in the order they started.</summary>
    public async Task<List<ExperimentView>> ListExperimentsAsync(NpgsqlTransaction transaction, Guid jobId)
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
            experiments.Add(new ExperimentView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return experiments;
    }
}
