using System.Globalization;
using System.Text.Json;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// How MLflow's registry reads the platform's: a registered model is a registry model (modelType "mlflow" when created
/// here), its description the metadata's "description"; a version is a version whose label is MLflow's number; stages
/// are the model's active version (Production), its "staging" alias (Staging) and archived versions (Archived); aliases
/// are aliases.
/// </summary>
public static class MlflowRegistry
{
    /// <summary>The alias that stands for MLflow's Staging stage.</summary>
    public const string StagingAlias = "staging";

    /// <summary>MLflow's stages, in its order.</summary>
    public static readonly string[] Stages = ["None", "Staging", "Production", "Archived"];

    /// <summary>
    /// A version's stage: Production when active, Staging when the staging alias names it, Archived when archived, else
    /// None. The first that holds wins (an alias set through the platform's own API can name an archived version).
    /// </summary>
    public static string StageOf(ModelView model, ModelVersionView version) =>
        version.IsActive ? "Production"
        : model.Aliases.GetValueOrDefault(StagingAlias) == version.Version ? "Staging"
        : version.ArchivedAt is not null ? "Archived"
        : "None";

    /// <summary>
    /// The other version in a stage that holds one version at most (Production: one active version; Staging: one alias),
    /// which archive_existing_versions archives; null for None and Archived, and when there is none.
    /// </summary>
    public static string? HolderOf(ModelView model, IReadOnlyList<ModelVersionView> versions, string stage, string except) =>
        stage is "Production" or "Staging"
            ? versions.FirstOrDefault(version => version.Version != except && StageOf(model, version) == stage)?.Version
            : null;

    /// <summary>The highest-numbered version in each stage (MLflow's latest_versions).</summary>
    public static IEnumerable<ModelVersionView> LatestPerStage(ModelView model, IReadOnlyList<ModelVersionView> versions, IReadOnlyCollection<string>? stages = null) =>
        versions.GroupBy(version => StageOf(model, version))
            .Where(stage => stages is null || stages.Count == 0 || stages.Contains(stage.Key, StringComparer.OrdinalIgnoreCase))
            .Select(stage => stage.OrderByDescending(version => Number(version.Version)).ThenByDescending(version => version.CreatedAt).First())
            .OrderBy(version => Number(version.Version));

    /// <summary>The model's description, kept in its metadata.</summary>
    public static string DescriptionOf(ModelView model)
    {
        if (model.Metadata is null)
        {
            return "";
        }

        using var metadata = JsonDocument.Parse(model.Metadata);
        return metadata.RootElement.ValueKind == JsonValueKind.Object && metadata.RootElement.TryGetProperty("description", out var description)
            && description.ValueKind == JsonValueKind.String ? description.GetString()! : "";
    }

    /// <summary>A version label as MLflow's number; labels that are not numbers sort first.</summary>
    public static long Number(string version) => long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : -1;
}
