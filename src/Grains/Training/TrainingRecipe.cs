using System.Text.Json;

namespace PhantomMl.Grains.Training;

/// <summary>
/// What the built-in trainer is asked to do, read from a job's config and hyperparameters:
/// config <c>{"trainer": "builtin", "task": "binary-classification" | "regression", "algorithm": "fasttree" | "lightgbm" | "sdca",
/// "label": "label", "rounds": 5, "testFraction": 0.2, "seed": 42, "maxAttempts": 3}</c>, hyperparameters
/// <c>{"trees": 100, "leaves": 20, "learningRate": 0.2, "iterations": 100}</c>. The dataset is a CSV with a header,
/// numeric features and the label column, held in the registry as a model version's artifact: <c>model://{name}/versions/{version}</c>.
/// </summary>
public sealed record TrainingRecipe(
    string Task,
    string Algorithm,
    string Label,
    int Rounds,
    double TestFraction,
    int Seed,
    int Trees,
    int Leaves,
    double LearningRate,
    int Iterations,
    string DatasetModel,
    string DatasetVersion)
{
    public const string BinaryClassification = "binary-classification";
    public const string Regression = "regression";

    /// <summary>Whether a job's config asks for the built-in trainer.</summary>
    public static bool IsBuiltIn(string? configJson)
    {
        if (configJson is null)
        {
            return false;
        }

        using var config = JsonDocument.Parse(configJson);
        return config.RootElement.TryGetProperty("trainer",
            out var trainer) && trainer.ValueKind == JsonValueKind.String && trainer.GetString() == "builtin";
    }

    /// <summary>How many attempts a job gets before a lost runner fails it for good (config maxAttempts, default 3).</summary>
    public static int MaxAttempts(string? configJson)
    {
        using var config = JsonDocument.Parse(configJson ?? "{}");
        return config.RootElement.TryGetProperty("maxAttempts", out var value) && value.TryGetInt32(out var attempts) ? Math.Clamp(attempts, 1,
            10) : 3;
    }

    /// <summary>Reads and checks the recipe; 400 naming the first problem.</summary>
    public static TrainingRecipe Parse(string configJson, string? hyperparametersJson, string datasetUri)
    {
        using var config = JsonDocument.Parse(configJson);
        using var hyper = JsonDocument.Parse(hyperparametersJson ?? "{}");
        var c = config.RootElement;
        var h = hyper.RootElement;
        var task = String(c, "task", "config.task") ?? throw PhantomException.Invalid($"config.task is {BinaryClassification} or {Regression}.",
            "config.task");
        if (task is not (BinaryClassification or Regression))
        {
            throw PhantomException.Invalid($"config.task is {BinaryClassification} or {Regression}.", "config.task");
        }

        var algorithm = String(c, "algorithm", "config.algorithm") ?? "fasttree";
        if (algorithm is not ("fasttree" or "lightgbm" or "sdca"))
        {
            throw PhantomException.Invalid("config.algorithm is fasttree, lightgbm or sdca.", "config.algorithm");
        }

        var (datasetModel, datasetVersion) = Models.DatasetUri.Parse(datasetUri);
        return new TrainingRecipe(task, algorithm, String(c, "label", "config.label") ?? "label",
            Int(c, "rounds", 5, 1, 50, "config.rounds"), Double(c, "testFraction", 0.2, 0.05, 0.5, "config.testFraction"),
                Int(c, "seed", 42, 0, int.MaxValue, "config.seed"),
            Int(h, "trees", 100, 1, 5000, "hyperparameters.trees"), Int(h, "leaves", 20, 2, 1024, "hyperparameters.leaves"),
            Double(h, "learningRate", 0.2, 1e-6, 1, "hyperparameters.learningRate"),
                Int(h, "iterations", 100, 1, 10_000, "hyperparameters.iterations"),
            datasetModel, datasetVersion);
    }

    /// <summary>The metrics each task reports, by which a search may choose its best trial.</summary>
    public IReadOnlyList<string> Metrics => Task == BinaryClassification ? ["accuracy", "precision", "recall", "f1", "auc", "log_loss"] : ["rmse",
        "r2", "mae"];

    /// <summary>This recipe with a search point's hyperparameters; 400 when one is out of range.</summary>
    public TrainingRecipe With(IReadOnlyDictionary<string, double> point)
    {
        int Whole(string name, int current, int min, int max) => !point.TryGetValue(name, out var value) ? current
            : value >= min && value <= max ? (int)value
                : throw PhantomException.Invalid($"config.search.space.{name}: {value} is outside {min}..{max}.", "config.search.space");
        return this with
        {
            Trees = Whole("trees", Trees, 1, 5000),
            Leaves = Whole("leaves", Leaves, 2, 1024),
            Iterations = Whole("iterations", Iterations, 1, 10_000),
            LearningRate = !point.TryGetValue("learningRate", out var rate) ? LearningRate
                : rate is >= 1e-6 and <= 1 ? rate : throw PhantomException.Invalid($"config.search.space.learningRate: {rate} is outside 1e-6..1.",
                    "config.search.space"),
        };
    }

    private static string? String(JsonElement element, string name, string field) =>
        !element.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 and <= 128 } text ? text
        : throw PhantomException.Invalid($"{field} must be a short string.", field);

    private static int Int(JsonElement element, string name, int fallback, int min, int max, string field) =>
        !element.TryGetProperty(name, out var value) ? fallback
        : value.TryGetInt32(out var number) && number >= min && number <= max ? number
        : throw PhantomException.Invalid($"{field} is a whole number from {min} to {max}.", field);

    private static double Double(JsonElement element, string name, double fallback, double min, double max, string field) =>
        !element.TryGetProperty(name, out var value) ? fallback
        : value.ValueKind == JsonValueKind.Number && value.GetDouble() is var number && number >= min && number <= max ? number
        : throw PhantomException.Invalid($"{field} is a number from {min} to {max}.", field);
}
