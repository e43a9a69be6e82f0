using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Models;

/// <summary>Input rules of the registry's free-form members; a violation is a 400 naming the field.</summary>
public static class ModelValidation
{
    /// <summary>Largest metadata document (JSON text).</summary>
    public const int MaxMetadataChars = 64 * 1024;

    public static int? FeatureCount(int? count) => count is null or (>= 0 and <= 10_000_000) ? count
        : throw PhantomException.Invalid("featureCount must be 0-10,000,000.", "featureCount");

    public static long? TrainingSamples(long? samples) => samples is null or (>= 0 and <= 1_000_000_000_000) ? samples
        : throw PhantomException.Invalid("trainingSamples must be 0 to 10^12.", "trainingSamples");

    public static Dictionary<string, string> Tags(IReadOnlyDictionary<string, string>? tags)
    {
        var result = new Dictionary<string, string>();
        foreach (var (key, value) in tags ?? new Dictionary<string, string>())
        {
            if (result.Count >= 100 || key is null || !ModelLifecycle.IsTagKey(key) || value is null || value.Length > 256
                || value.Any(char.IsControl))
            {
                throw PhantomException.Invalid("tags: at most 100, keys 1-100 of letters, digits, '.', '_', '-', values at most 256 characters " +
                    "without control characters.", "tags");
            }

            result[key] = value;
        }

        return result;
    }

    /// <summary>A JSON object of at most 64 KiB, or null.</summary>
    public static string? Metadata(string? metadata, string field = "metadata") => JsonText.ObjectOrNull(metadata, MaxMetadataChars, field);

    /// <summary>
    /// Free text (a changelog, a description): at most <paramref name="maxLength"/> characters, no control characters
    /// but line breaks and tabs.
    /// </summary>
    public static string? FreeText(string? text, int maxLength, string field) =>
        text is null ? null
        : text.Length <= maxLength && !text.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')) ? text
        : throw PhantomException.Invalid($"{field} is at most {maxLength} characters, without control characters.", field);

    /// <summary>The scores in [0, 1] and free-form finite metrics of a version, by name.</summary>
    public static Dictionary<string, double> Metrics(RegisterVersion command)
    {
        var metrics = new Dictionary<string, double>();
        foreach (var (name, value) in new[] { ("accuracy", command.Accuracy), ("precision", command.Precision), ("recall", command.Recall),
            ("f1", command.F1) })
        {
            if (value is { } score)
            {
                metrics[name] = score is >= 0 and <= 1 ? score : throw PhantomException.Invalid($"{name} must be a number in [0, 1].", name);
            }
        }

        var extra = command.PerformanceMetrics ?? new Dictionary<string, double>();
        if (extra.Count > 100)
        {
            throw PhantomException.Invalid("performanceMetrics holds at most 100 metrics.", "performanceMetrics");
        }

        foreach (var (name, value) in extra)
        {
            ModelLifecycle.Word(name, "performanceMetrics");
            metrics[name] = double.IsFinite(value) && Math.Abs(value) < 1e15
                ? value
                : throw PhantomException.Invalid($"performance metric '{name}' must be a finite number below 10^15.", "performanceMetrics");
        }

        return metrics;
    }

    /// <summary>Each metric the version and its parent both have: version minus parent.</summary>
    public static Dictionary<string, double> Delta(Dictionary<string, double> metrics, ModelVersionView? parent)
    {
        if (parent is null)
        {
            return [];
        }

        var before = new Dictionary<string, double>(parent.PerformanceMetrics);
        foreach (var (name, value) in new[] { ("accuracy", parent.Accuracy), ("precision", parent.Precision), ("recall", parent.Recall),
            ("f1", parent.F1) })
        {
            if (value is { } score)
            {
                before[name] = score;
            }
        }

        return metrics.Where(m => before.ContainsKey(m.Key)).ToDictionary(m => m.Key, m => Math.Round(m.Value - before[m.Key], 10));
    }
}
