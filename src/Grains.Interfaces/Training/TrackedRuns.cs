using System.Text.Json;

namespace PhantomMl.Grains.Training;

/// <summary>How a training job reads as an MLflow run: its status, its artifact URI, its parameters.</summary>
public static class TrackedRuns
{
    /// <summary>MLflow's run status for a job status.</summary>
    public static string ToMlflowStatus(string jobStatus) => jobStatus switch
    {
        "pending" or "scheduled" => "SCHEDULED",
        "running" => "RUNNING",
        "completed" => "FINISHED",
        "failed" => "FAILED",
        _ => "KILLED",
    };

    /// <summary>The job status an MLflow run status asks for; null for one a client cannot set (SCHEDULED) or an unknown one.</summary>
    public static string? FromMlflowStatus(string? mlflowStatus) => mlflowStatus switch
    {
        "RUNNING" => "running",
        "FINISHED" => "completed",
        "FAILED" => "failed",
        "KILLED" => "cancelled",
        _ => null,
    };

    /// <summary>
    /// Where a run's files are, as MLflow's proxied artifact URI: clients send them to the tracking server's
    /// <c>/api/2.0/mlflow-artifacts/artifacts/{project}/{run}/artifacts/...</c>.
    /// </summary>
    public static string ArtifactUri(string projectId, Guid runId) => $"mlflow-artifacts:/{projectId}/{runId:N}/artifacts";

    /// <summary>The job's logged parameters (its hyperparameters), each as text.</summary>
    public static Dictionary<string, string> Params(TrainingJobView job)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (job.Hyperparameters is null)
        {
            return parameters;
        }

        using var document = JsonDocument.Parse(job.Hyperparameters);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return parameters;
        }

        foreach (var property in document.RootElement.EnumerateObject())
        {
            parameters[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }

        return parameters;
    }
}
