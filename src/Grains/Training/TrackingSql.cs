using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Training;

/// <summary>A run as stored: its job row and what tracking adds to it.</summary>
public sealed record StoredRun(TrainingJobView Job, string ProjectId, IReadOnlyDictionary<string, string> Tags, string? Inputs, DateTimeOffset? DeletedAt);

/// <summary>
/// The SQL of experiment tracking, inside a tenant's unit of work: projects (training_projects), the tracking columns
/// of runs (training_jobs.project_id, tags, inputs, deleted_at) and runs' files (training_run_artifacts).
/// </summary>
public sealed class TrackingSql
{
    private const string ProjectColumns = "id, name, artifact_location, tags::text, created_at, updated_at, deleted_at, created_by";
    private const string RunColumns = $"{TrainingSql.Columns}, project_id, tags::text, inputs::text, deleted_at";

    public async Task<ProjectView?> LoadProjectAsync(NpgsqlTransaction transaction, string projectId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {ProjectColumns} FROM training_projects WHERE tenant_id = @tenant AND id = @id");
        command.Parameters.AddWithValue("id", projectId);
        return (await ReadProjectsAsync(command)).SingleOrDefault();
    }

    public async Task<ProjectView?> LoadProjectByNameAsync(NpgsqlTransaction transaction, string name)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {ProjectColumns} FROM training_projects WHERE tenant_id = @tenant AND name = @name");
        command.Parameters.AddWithValue("name", name);
        return (await ReadProjectsAsync(command)).SingleOrDefault();
    }

    /// <summary>Inserts a project; a name taken in the tenant is refused by the unique index (a database error the caller maps to 409).</summary>
    public async Task<ProjectView> InsertProjectAsync(NpgsqlTransaction transaction, string projectId, string name, string? artifactLocation,
        IReadOnlyDictionary<string, string> tags, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO training_projects (tenant_id, id, name, artifact_location, tags, created_by)
            VALUES (@tenant, @id, @name, @location, @tags, @createdBy)
            RETURNING {ProjectColumns}
            """);
        command.Parameters.AddWithValue("id", projectId);
        command.Parameters.AddWithValue("name", name);
        command.AddOptional("location", NpgsqlDbType.Varchar, artifactLocation);
        command.Parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(tags) });
        command.Parameters.AddWithValue("createdBy", createdBy);
        return (await ReadProjectsAsync(command)).Single();
    }

    public async Task<ProjectView?> RenameProjectAsync(NpgsqlTransaction transaction, string projectId, string newName)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE training_projects SET name = @name, updated_at = now() WHERE tenant_id = @tenant AND id = @id RETURNING {ProjectColumns}
            """);
        command.Parameters.AddWithValue("id", projectId);
        command.Parameters.AddWithValue("name", newName);
        return (await ReadProjectsAsync(command)).SingleOrDefault();
    }

    public async Task<ProjectView?> SetProjectTagAsync(NpgsqlTransaction transaction, string projectId, string key, string value)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE training_projects SET tags = tags || jsonb_build_object(@key::text, @value::text), updated_at = now()
             WHERE tenant_id = @tenant AND id = @id RETURNING {ProjectColumns}
            """);
        command.Parameters.AddWithValue("id", projectId);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("value", value);
        return (await ReadProjectsAsync(command)).SingleOrDefault();
    }

    /// <summary>
    /// Deletes a project with its active runs (all stamped with the same time), or restores it with the runs stamped
    /// with its deletion time: runs deleted on their own before stay deleted.
    /// </summary>
    public async Task<ProjectView?> SetProjectDeletedAsync(NpgsqlTransaction transaction, string projectId, bool deleted)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, deleted
            ? $"""
              WITH project AS (
                  UPDATE training_projects SET deleted_at = now(), updated_at = now()
                   WHERE tenant_id = @tenant AND id = @id AND deleted_at IS NULL RETURNING {ProjectColumns}
              ), runs AS (
                  UPDATE training_jobs SET deleted_at = now(), updated_at = now()
                   WHERE tenant_id = @tenant AND project_id = @id AND deleted_at IS NULL AND EXISTS (SELECT FROM project)
              )
              SELECT * FROM project
              """
            : $"""
              WITH before AS (
                  -- Not FOR UPDATE: the project CTE updates this row in the same statement, and a locking read would then skip it.
                  -- The sub-statements share one snapshot, so this reads the deletion time as it was.
                  SELECT deleted_at FROM training_projects WHERE tenant_id = @tenant AND id = @id AND deleted_at IS NOT NULL
              ), project AS (
                  UPDATE training_projects SET deleted_at = NULL, updated_at = now()
                   WHERE tenant_id = @tenant AND id = @id AND deleted_at IS NOT NULL RETURNING {ProjectColumns}
              ), runs AS (
                  UPDATE training_jobs SET deleted_at = NULL, updated_at = now()
                   WHERE tenant_id = @tenant AND project_id = @id AND deleted_at = (SELECT deleted_at FROM before)
              )
              SELECT * FROM project
              """);
        command.Parameters.AddWithValue("id", projectId);
        return (await ReadProjectsAsync(command)).SingleOrDefault();
    }

    /// <summary>Every project of the tenant in a view (active, deleted, all), oldest first; the tenant's tracking_projects bounds them.</summary>
    public async Task<List<ProjectView>> ListProjectsAsync(NpgsqlTransaction transaction, string viewType)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {ProjectColumns} FROM training_projects
             WHERE tenant_id = @tenant AND (@view = 'all' OR (@view = 'deleted') = (deleted_at IS NOT NULL))
             ORDER BY created_at, id
            """);
        command.Parameters.AddWithValue("view", viewType);
        return await ReadProjectsAsync(command);
    }

    /// <summary>Inserts a run: an external job of a project, running from <paramref name="startTime"/>, never scheduled.</summary>
    public async Task<StoredRun> InsertRunAsync(NpgsqlTransaction transaction, Guid jobId, string projectId, string runName, DateTimeOffset startTime,
        IReadOnlyDictionary<string, string> tags, string createdBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO training_jobs (id, tenant_id, model_id, job_name, status, config, dataset_uri, created_by, started_at, runner,
                project_id, tags)
            VALUES (@id, @tenant, '00000000-0000-0000-0000-000000000000', @name, 'running', '{"{"}"trainer": "external", "source": "mlflow"{"}"}',
                '', @createdBy, @started, 'mlflow', @project, @tags)
            RETURNING {RunColumns}
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("name", runName);
        command.Parameters.AddWithValue("createdBy", createdBy);
        command.Parameters.AddWithValue("started", startTime);
        command.Parameters.AddWithValue("project", projectId);
        command.Parameters.Add(new NpgsqlParameter("tags", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(tags) });
        return (await ReadRunsAsync(command)).Single();
    }

    /// <summary>The job as a run; null when there is no such job or it belongs to no project.</summary>
    public async Task<StoredRun?> LoadRunAsync(NpgsqlTransaction transaction, Guid jobId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {RunColumns} FROM training_jobs WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL");
        command.Parameters.AddWithValue("id", jobId);
        return (await ReadRunsAsync(command)).SingleOrDefault();
    }

    /// <summary>Renames a run.</summary>
    public async Task RenameRunAsync(NpgsqlTransaction transaction, Guid jobId, string runName)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE training_jobs SET job_name = @name, updated_at = now() WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL");
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("name", runName);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Sets when a finished run ended, as its client reports it.</summary>
    public async Task SetRunEndAsync(NpgsqlTransaction transaction, Guid jobId, DateTimeOffset end)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE training_jobs SET completed_at = @end WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL AND completed_at IS NOT NULL");
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("end", end);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Sets <paramref name="set"/> (a JSON object) over the run's tags and removes the keys in <paramref name="delete"/>.</summary>
    public async Task TagRunAsync(NpgsqlTransaction transaction, Guid jobId, IReadOnlyDictionary<string, string> set, IReadOnlyList<string> delete)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE training_jobs SET tags = (tags || @set) - @delete::text[], updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.Add(new NpgsqlParameter("set", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(set) });
        command.Parameters.AddWithValue("delete", delete.ToArray());
        await command.ExecuteNonQueryAsync();
    }

    public async Task SetRunDeletedAsync(NpgsqlTransaction transaction, Guid jobId, bool deleted)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            UPDATE training_jobs SET deleted_at = CASE WHEN @deleted THEN coalesce(deleted_at, now()) END, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL
            """);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("deleted", deleted);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Replaces the run's inputs with <paramref name="inputs"/> (a JSON array).</summary>
    public async Task SetRunInputsAsync(NpgsqlTransaction transaction, Guid jobId, string inputs)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "UPDATE training_jobs SET inputs = @inputs, updated_at = now() WHERE tenant_id = @tenant AND id = @id AND project_id IS NOT NULL");
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.Add(new NpgsqlParameter("inputs", NpgsqlDbType.Jsonb) { Value = inputs });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>How many runs the projects hold in a view: what a search must read.</summary>
    public async Task<long> CountRunsAsync(NpgsqlTransaction transaction, IReadOnlyList<string> projectIds, string viewType)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT count(*) FROM training_jobs
             WHERE tenant_id = @tenant AND project_id = ANY(@projects) AND (@view = 'all' OR (@view = 'deleted') = (deleted_at IS NOT NULL))
            """);
        command.Parameters.AddWithValue("projects", projectIds.ToArray());
        command.Parameters.AddWithValue("view", viewType);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The runs of the projects in a view, newest first.</summary>
    public async Task<List<StoredRun>> ListRunsAsync(NpgsqlTransaction transaction, IReadOnlyList<string> projectIds, string viewType)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {RunColumns} FROM training_jobs
             WHERE tenant_id = @tenant AND project_id = ANY(@projects) AND (@view = 'all' OR (@view = 'deleted') = (deleted_at IS NOT NULL))
             ORDER BY started_at DESC, id
            """);
        command.Parameters.AddWithValue("projects", projectIds.ToArray());
        command.Parameters.AddWithValue("view", viewType);
        return await ReadRunsAsync(command);
    }

    /// <summary>
    /// Records a run's file at its path, replacing the one there; returns the replaced file's object key and size (to
    /// delete after commit and give back), or null.
    /// </summary>
    public async Task<(string ObjectKey, long SizeBytes)?> PutRunArtifactAsync(NpgsqlTransaction transaction, Guid jobId, RunArtifactView artifact,
        string objectKey, string uploadedBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            WITH before AS (
                SELECT object_key, size_bytes FROM training_run_artifacts
                 WHERE tenant_id = @tenant AND training_job_id = @job AND path = @path FOR UPDATE
            ), upsert AS (
                INSERT INTO training_run_artifacts (tenant_id, training_job_id, path, object_key, size_bytes, sha256, uploaded_by)
                VALUES (@tenant, @job, @path, @key, @size, @sha, @by)
                ON CONFLICT (tenant_id, training_job_id, path) DO UPDATE
                   SET object_key = excluded.object_key, size_bytes = excluded.size_bytes, sha256 = excluded.sha256,
                       uploaded_at = now(), uploaded_by = excluded.uploaded_by
            )
            SELECT object_key, size_bytes FROM before
            """);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("path", artifact.Path);
        command.Parameters.AddWithValue("key", objectKey);
        command.Parameters.AddWithValue("size", artifact.SizeBytes);
        command.Parameters.AddWithValue("sha", artifact.Sha256);
        command.Parameters.AddWithValue("by", uploadedBy);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), reader.GetInt64(1)) : null;
    }

    /// <summary>The run's files whose path starts with <paramref name="prefix"/>, by path, at most <paramref name="limit"/>.</summary>
    public async Task<List<RunArtifactView>> ListRunArtifactsAsync(NpgsqlTransaction transaction, Guid jobId, string prefix, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT path, size_bytes, sha256, uploaded_at FROM training_run_artifacts
             WHERE tenant_id = @tenant AND training_job_id = @job AND starts_with(path, @prefix)
             ORDER BY path LIMIT @limit
            """);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("limit", limit);
        var artifacts = new List<RunArtifactView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            artifacts.Add(new RunArtifactView(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return artifacts;
    }

    public async Task<RunArtifactLocation?> LoadRunArtifactAsync(NpgsqlTransaction transaction, Guid jobId, string path)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            SELECT object_key, path, size_bytes, sha256, uploaded_at FROM training_run_artifacts
             WHERE tenant_id = @tenant AND training_job_id = @job AND path = @path
            """);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("path", path);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new RunArtifactLocation(reader.GetString(0),
                new RunArtifactView(reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)))
            : null;
    }

    private static async Task<List<ProjectView>> ReadProjectsAsync(NpgsqlCommand command)
    {
        var projects = new List<ProjectView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            projects.Add(new ProjectView(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                Tags(reader.GetString(3)), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6), reader.GetString(7)));
        }

        return projects;
    }

    private static async Task<List<StoredRun>> ReadRunsAsync(NpgsqlCommand command)
    {
        var runs = new List<StoredRun>();
        await using var reader = await command.ExecuteReaderAsync();
        var first = reader.FieldCount - 4;
        while (await reader.ReadAsync())
        {
            runs.Add(new StoredRun(TrainingSql.Read(reader), reader.GetString(first), Tags(reader.GetString(first + 1)),
                reader.IsDBNull(first + 2) ? null : reader.GetString(first + 2),
                reader.IsDBNull(first + 3) ? null : reader.GetFieldValue<DateTimeOffset>(first + 3)));
        }

        return runs;
    }

    private static Dictionary<string, string> Tags(string json) => JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
}
