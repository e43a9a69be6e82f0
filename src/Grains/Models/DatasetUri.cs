
namespace PhantomMl.Grains.Models;

/// <summary>
/// Datasets live in the registry like models: a CSV uploaded as a version's artifact, named
/// <c>model://{name}/versions/{version or alias}</c> by the trainer and by batch inference.
/// </summary>
public static class DatasetUri
{
    /// <summary>The scheme: every dataset URI of a model starts with <c>model://{name}/</c>.</summary>
    public const string Scheme = "model://";

    /// <summary>The model and version (or alias) a dataset URI names; 400 for anything else.</summary>
    public static (string Model, string Version) Parse(string? uri)
    {
        var parts = uri is { Length: <= 600 } && uri.StartsWith(Scheme, StringComparison.Ordinal) ? uri[Scheme.Length..].Split('/') : [];
        return parts.Length == 3 && parts[1] == "versions" && parts[0].Length > 0 && parts[2].Length is > 0 and <= 64
            ? (ModelLifecycle.Name(parts[0]), parts[2])
            : throw PhantomException.Invalid("datasetUri must be model://{model}/versions/{version or alias}: a CSV artifact in the registry.",
                "datasetUri");
    }
}
