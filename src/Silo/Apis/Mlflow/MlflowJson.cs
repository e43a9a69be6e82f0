using System.Text.Json;
using System.Text.Json.Serialization;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// The platform's resources in MLflow's JSON shapes (field names, times in Unix milliseconds, ids as strings, tags as
/// key/value lists); unset fields are left out, as MLflow's proto-JSON does.
/// </summary>
public static class MlflowJson
{
    /// <summary>The serializer options of every MLflow answer.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// A JSON object of an answer that leaves out unset fields, as MLflow's proto-JSON does (the serializer's own
    /// null handling does not reach dictionary entries).
    /// </summary>
    public sealed class Fields : Dictionary<string, object?>
    {
        /// <summary>Sets a field; a null value leaves it out.</summary>
        public new object? this[string key]
        {
            get => base[key];
            set
            {
                if (value is null)
                {
                    Remove(key);
                }
                else
                {
                    base[key] = value;
                }
            }
        }
    }

    /// <summary>An answer.</summary>
    public static IResult Ok(object value) => Results.Json(value, Options);

    /// <summary>MLflow's empty answer.</summary>
    public static IResult Empty() => Results.Json(new Dictionary<string, object>(), Options);

    /// <summary>MLflow's Experiment.</summary>
    public static object Experiment(ProjectView project) => new Fields
    {
        ["experiment_id"] = project.Id,
        ["name"] = project.Name,
        ["artifact_location"] = $"mlflow-artifacts:/{project.Id}",
        ["lifecycle_stage"] = project.DeletedAt is null ? "active" : "deleted",
        ["last_update_time"] = project.UpdatedAt.ToUnixTimeMilliseconds(),
        ["creation_time"] = project.CreatedAt.ToUnixTimeMilliseconds(),
        ["tags"] = Tags(project.Tags),
    };

    /// <summary>MLflow's RunInfo.</summary>
    public static object RunInfo(RunView run) => new Fields
    {
        ["run_id"] = run.Job.Id.ToString("N"),
        ["run_uuid"] = run.Job.Id.ToString("N"),
        ["run_name"] = run.Job.JobName,
        ["experiment_id"] = run.ProjectId,
        ["user_id"] = run.Job.CreatedBy,
        ["status"] = TrackedRuns.ToMlflowStatus(run.Job.Status),
        ["start_time"] = run.Job.StartedAt?.ToUnixTimeMilliseconds(),
        ["end_time"] = run.Job.CompletedAt?.ToUnixTimeMilliseconds(),
        ["artifact_uri"] = TrackedRuns.ArtifactUri(run.ProjectId, run.Job.Id),
        ["lifecycle_stage"] = run.DeletedAt is null ? "active" : "deleted",
    };

    /// <summary>MLflow's Run: info, data (latest metrics, params, tags with mlflow.runName) and inputs.</summary>
    public static object Run(RunView run)
    {
        var tags = new Dictionary<string, string>(run.Tags) { ["mlflow.runName"] = run.Job.JobName };
        using var inputs = run.Inputs is null ? null : JsonDocument.Parse(run.Inputs);
        return new Fields
        {
            ["info"] = RunInfo(run),
            ["data"] = new Fields
            {
                ["metrics"] = (run.Metrics ?? []).Select(metric => Metric(metric.Metric, metric.Value, metric.Timestamp.ToUnixTimeMilliseconds(), metric.Step))
                    .ToList(),
                ["params"] = Tags(TrackedRuns.Params(run.Job)),
                ["tags"] = Tags(tags),
            },
            ["inputs"] = new Fields { ["dataset_inputs"] = inputs?.RootElement.Clone() },
        };
    }

    /// <summary>MLflow's Metric.</summary>
    public static Fields Metric(string key, double value, long timestampMs, long step) => new()
    {
        ["key"] = key,
        ["value"] = value,
        ["timestamp"] = timestampMs,
        ["step"] = step,
    };

    /// <summary>MLflow's RegisteredModel: the model, its latest version per stage, tags and aliases.</summary>
    public static object RegisteredModel(ModelView model, IReadOnlyList<ModelVersionView> versions) => new Fields
    {
        ["name"] = model.Name,
        ["creation_timestamp"] = model.CreatedAt.ToUnixTimeMilliseconds(),
        ["last_updated_timestamp"] = model.UpdatedAt.ToUnixTimeMilliseconds(),
        ["user_id"] = model.CreatedBy,
        ["description"] = MlflowRegistry.DescriptionOf(model),
        ["latest_versions"] = MlflowRegistry.LatestPerStage(model, versions).Select(version => ModelVersion(model, version)).ToList(),
        ["tags"] = Tags(model.Tags),
        ["aliases"] = model.Aliases.Select(alias => new Dictionary<string, string> { ["alias"] = alias.Key, ["version"] = alias.Value }).ToList(),
    };

    /// <summary>MLflow's ModelVersion.</summary>
    public static object ModelVersion(ModelView model, ModelVersionView version) => new Fields
    {
        ["name"] = model.Name,
        ["version"] = version.Version,
        ["creation_timestamp"] = version.CreatedAt.ToUnixTimeMilliseconds(),
        ["last_updated_timestamp"] = version.CreatedAt.ToUnixTimeMilliseconds(),
        ["user_id"] = version.CreatedBy,
        ["current_stage"] = MlflowRegistry.StageOf(model, version),
        ["description"] = version.Changelog ?? "",
        ["source"] = version.Source ?? version.ArtifactUri ?? "",
        ["run_id"] = version.TrainingJobId?.ToString("N") ?? "",
        ["status"] = "READY",
        ["tags"] = Tags(version.Tags ?? new Dictionary<string, string>()),
        ["aliases"] = model.Aliases.Where(alias => alias.Value == version.Version).Select(alias => alias.Key).ToList(),
    };

    /// <summary>MLflow's repeated {key, value}.</summary>
    public static List<Dictionary<string, string>> Tags(IReadOnlyDictionary<string, string> tags) =>
        tags.OrderBy(tag => tag.Key, StringComparer.Ordinal).Select(tag => new Dictionary<string, string> { ["key"] = tag.Key, ["value"] = tag.Value })
            .ToList();
}
