using System.Globalization;
using System.Text.Json;

namespace PhantomMl.Grains.Training;

/// <summary>
/// A hyperparameter search, from a job's config:
/// <c>"search": {"strategy": "grid" | "random", "trials": 8, "metric": "accuracy", "direction": "maximize" | "minimize",
/// "earlyStopping": "median" | "none", "space": {"trees": [20, 50, 100], "learningRate": {"min": 0.01, "max": 0.3, "log": true}}}</c>.
/// Grid takes every combination of the listed values; random draws <c>trials</c> points (lists uniformly, ranges
/// uniformly or log-uniformly, whole numbers for trees, leaves and iterations). Seeded by the recipe's seed.
/// </summary>
public sealed record SearchSpace(string Strategy, int Trials, string Metric, bool Maximize, bool MedianStopping,
    IReadOnlyList<IReadOnlyDictionary<string, double>> Points)
{
    /// <summary>Most trials one search may run.</summary>
    public const int MaxTrials = 100;

    private static readonly string[] Tunable = ["trees", "leaves", "learningRate", "iterations"];
    private static readonly string[] WholeNumbers = ["trees", "leaves", "iterations"];

    /// <summary>The search of a config, or null when it has none; 400 naming the first problem.</summary>
    public static SearchSpace? Parse(string configJson, int seed)
    {
        using var config = JsonDocument.Parse(configJson);
        if (!config.RootElement.TryGetProperty("search", out var search))
        {
            return null;
        }

        if (search.ValueKind != JsonValueKind.Object || !search.TryGetProperty("space", out var space) || space.ValueKind != JsonValueKind.Object)
        {
            throw PhantomException.Invalid("config.search needs a space object.", "config.search.space");
        }

        var strategy = Text(search, "strategy") ?? "grid";
        var metric = Text(search, "metric") ?? "accuracy";
        var direction = Text(search, "direction") ?? (metric is "rmse" or "mae" or "log_loss" ? "minimize" : "maximize");
        var stopping = Text(search, "earlyStopping") ?? "median";
        if (strategy is not ("grid" or "random") || direction is not ("maximize" or "minimize") || stopping is not ("median" or "none"))
        {
            throw PhantomException.Invalid("config.search: strategy grid|random, direction maximize|minimize, earlyStopping median|none.",
                "config.search");
        }

        var dimensions = new List<(string Name, Func<Random, double> Draw, double[]? Values)>();
        foreach (var dimension in space.EnumerateObject())
        {
            if (!Tunable.Contains(dimension.Name))
            {
                throw PhantomException.Invalid($"config.search.space.{dimension.Name}: the tunable hyperparameters are " +
                    $"{string.Join(", ", Tunable)}.", "config.search.space");
            }

            dimensions.Add(ParseDimension(dimension.Name, dimension.Value, strategy));
        }

        if (dimensions.Count == 0)
        {
            throw PhantomException.Invalid("config.search.space names no hyperparameter.", "config.search.space");
        }

        var random = new Random(seed);
        List<IReadOnlyDictionary<string, double>> points;
        if (strategy == "grid")
        {
            points = [new Dictionary<string, double>()];
            foreach (var (name, _, values) in dimensions)
            {
                points = [.. points.SelectMany(point =>
                    values!.Select(value => (IReadOnlyDictionary<string, double>)new Dictionary<string, double>(point) { [name] = value }))];
                if (points.Count > MaxTrials)
                {
                    throw PhantomException.Invalid($"The grid has more than {MaxTrials} combinations.", "config.search.space");
                }
            }
        }
        else
        {
            var trials = search.TryGetProperty("trials", out var t) && t.TryGetInt32(out var n) && n is >= 1 and <= MaxTrials
                ? n
                : throw PhantomException.Invalid($"config.search.trials is 1 to {MaxTrials} for a random search.", "config.search.trials");
            points = [.. Enumerable.Range(0,
                trials).Select(_ => (IReadOnlyDictionary<string, double>)dimensions.ToDictionary(d => d.Name, d => d.Draw(random)))];
        }

        return new SearchSpace(strategy, points.Count, metric, direction == "maximize", stopping == "median", points);
    }

    /// <summary>Whether <paramref name="candidate"/> is better than <paramref name="best"/> in this search's direction.</summary>
    public bool Better(double candidate, double best) => Maximize ? candidate > best : candidate < best;

    private static (string, Func<Random, double>, double[]?) ParseDimension(string name, JsonElement value, string strategy)
    {
        var whole = WholeNumbers.Contains(name);
        double Round(double v) => whole ? Math.Max(1, Math.Round(v)) : v;
        if (value.ValueKind == JsonValueKind.Array)
        {
            var values = value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? Round(v.GetDouble())
                : throw PhantomException.Invalid($"config.search.space.{name} lists numbers.", "config.search.space")).Distinct().ToArray();
            return values.Length is >= 1 and <= MaxTrials
                ? (name, random => values[random.Next(values.Length)], values)
                : throw PhantomException.Invalid($"config.search.space.{name} lists 1 to {MaxTrials} values.", "config.search.space");
        }

        if (value.ValueKind == JsonValueKind.Object && strategy == "random"
            && value.TryGetProperty("min", out var minimum) && value.TryGetProperty("max", out var maximum)
            && minimum.ValueKind == JsonValueKind.Number && maximum.ValueKind == JsonValueKind.Number && minimum.GetDouble() < maximum.GetDouble())
        {
            var (min, max) = (minimum.GetDouble(), maximum.GetDouble());
            var log = value.TryGetProperty("log", out var l) && l.ValueKind == JsonValueKind.True;
            if (log && min <= 0)
            {
                throw PhantomException.Invalid($"config.search.space.{name}: a log range starts above 0.", "config.search.space");
            }

            return (name, random => Round(log ? Math.Exp(Math.Log(min) + (random.NextDouble() * (Math.Log(max) - Math.Log(min)))) : min
                + (random.NextDouble() * (max - min))), null);
        }

        throw PhantomException.Invalid(string.Create(CultureInfo.InvariantCulture,
            $"config.search.space.{name} is a list of values, or (random search) {{\"min\", \"max\", \"log\"}} with min < max."),
                "config.search.space");
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
