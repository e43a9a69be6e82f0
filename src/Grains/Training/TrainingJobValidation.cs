using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;

namespace PhantomMl.Grains.Training;

/// <summary>Input rules of training jobs; a violation is a 400 naming the field.</summary>
public static class TrainingJobValidation
{
    /// <summary>Largest free-form JSON member (config, hyperparameters, resource requirements, metrics summary).</summary>
    public const int MaxJsonChars = 64 * 1024;

    /// <summary>A new job's fields: 400 naming the first that is not valid.</summary>
    public static void Create(CreateTrainingJob command)
    {
        if (string.IsNullOrWhiteSpace(command.JobName) || command.JobName.Length > 255)
        {
            throw PhantomException.Invalid("jobName is 1 to 255 characters.", "jobName");
        }

        if (string.IsNullOrWhiteSpace(command.DatasetUri) || command.DatasetUri.Length > 2048)
        {
            throw PhantomException.Invalid("datasetUri is 1 to 2048 characters.", "datasetUri");
        }

        if (command.Priority is < -1000 or > 1000)
        {
            throw PhantomException.Invalid("priority is from -1000 to 1000.", "priority");
        }

        ModelLifecycle.Name(command.ModelName);
        JsonObjectOrNull(command.Config, "config");
        JsonObjectOrNull(command.Hyperparameters, "hyperparameters");
        JsonObjectOrNull(command.ResourceRequirements, "resourceRequirements");
    }

    /// <summary>A free-form JSON member: a JSON object within <see cref="MaxJsonChars"/>, or null.</summary>
    public static string? JsonObjectOrNull(string? json, string field) => JsonText.ObjectOrNull(json, MaxJsonChars, field);
}
