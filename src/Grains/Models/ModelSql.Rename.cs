using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Lineage;

namespace PhantomMl.Grains.Models;

/// <summary>
/// The SQL of a model's rename: what still depends on the old name, and the rows that carry it. Object keys, metrics,
/// serving routes and quotas name the model by its id, so they need nothing.
/// </summary>
public sealed partial class ModelSql
{
    /// <summary>
    /// Work that would look the model up by its old name later and so must finish first, at most three of them, as
    /// "training job {id}" or "batch inference {id}": unfinished training jobs that register into the model or read a
    /// dataset from it, and unfinished batch inferences that score with it or read from it. Uploads in progress are not
    /// waited for (an abandoned ticket lives 12 hours): one that ends after the rename is refused at its end and sent again.
    /// </summary>
    public async Task<List<string>> UnfinishedWorkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            (SELECT 'training job ' || id FROM training_jobs
              WHERE tenant_id = @tenant AND status IN ('pending', 'scheduled', 'running')
                AND (model_name = @name OR starts_with(dataset_uri, @datasets))
              LIMIT 3)
            UNION ALL
            (SELECT 'batch inference ' || id FROM inference_batches
              WHERE tenant_id = @tenant AND status IN ('pending', 'running') AND (model_id = @id OR starts_with(input_uri, @datasets))
              LIMIT 3)
            LIMIT 3
            """);
        command.Parameters.AddWithValue("id", model.Id);
        command.Parameters.AddWithValue("name", model.Name);
        command.Parameters.AddWithValue("datasets", $"{DatasetUri.Scheme}{model.Name}/");
        var work = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            work.Add(reader.GetString(0));
        }

        return work;
    }

    /// <summary>
    /// Gives the model its new name if the row is still at <paramref name="expectedVersion"/> (null when it is not), and
    /// moves what carries the name with it: the lineage nodes of the model, its versions and its aliases (edges that the
    /// new name already has are kept once), and the name shown next to the model's id on training jobs and batches.
    /// </summary>
    public async Task<ModelRecord?> RenameAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ModelRecord model, string newName,
        long expectedVersion)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            WITH moved AS (
                DELETE FROM data_lineage
                 WHERE tenant_id = @tenant AND ({NamedAfterModel("resource_type", "resource_id")} OR {NamedAfterModel("parent_resource_type", "parent_resource_id")})
                RETURNING *)
            INSERT INTO data_lineage (tenant_id, resource_type, resource_id, parent_resource_type, parent_resource_id, transformation_type,
                                      transformation_metadata, created_at, created_by)
            SELECT tenant_id, resource_type, {Renamed("resource_type", "resource_id")}, parent_resource_type,
                   {Renamed("parent_resource_type", "parent_resource_id")}, transformation_type, transformation_metadata, created_at, created_by
              FROM moved
            ON CONFLICT DO NOTHING;
            UPDATE training_jobs SET model_name = @new WHERE tenant_id = @tenant AND model_name = @old;
            UPDATE inference_batches SET model_name = @new WHERE tenant_id = @tenant AND model_id = @id;
            UPDATE models SET name = @new, row_version = row_version + 1, updated_at = now()
             WHERE tenant_id = @tenant AND id = @id AND row_version = @expected
            RETURNING {ModelColumns};
            """);
        command.Parameters.AddWithValue("id", model.Id);
        command.Parameters.AddWithValue("old", model.Name);
        command.Parameters.AddWithValue("new", newName);
        command.Parameters.AddWithValue("expected", expectedVersion);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadModel(reader) : null;
    }

    /// <summary>Whether a lineage node is the model (@old) or one of its versions or aliases (<c>@old/...</c>; names hold no '/').</summary>
    private static string NamedAfterModel(string type, string id) =>
        $"(({type} = '{LineageKinds.Model}' AND {id} = @old) " +
        $"OR ({type} IN ('{LineageKinds.ModelVersion}', '{LineageKinds.Alias}') AND starts_with({id}, @old || '/')))";

    private static string Renamed(string type, string id) =>
        $"CASE WHEN {NamedAfterModel(type, id)} THEN @new || substr({id}, length(@old) + 1) ELSE {id} END";
}
