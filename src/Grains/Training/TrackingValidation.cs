using System.Text.Json;

namespace PhantomMl.Grains.Training;

/// <summary>
/// What experiment tracking accepts, with MLflow's limits: keys of 1-250 letters (any script, as MLflow's \w), digits, spaces and <c>_ - . / :</c>;
/// tag values up to 8,000 characters; project names up to 500; run files at relative paths without tricks.
/// </summary>
public static class TrackingValidation
{
    /// <summary>Longest key of a tag or parameter.</summary>
    public const int MaxKeyLength = 250;

    /// <summary>Longest tag value.</summary>
    public const int MaxTagValueLength = 8000;

    /// <summary>Most tags set in one call.</summary>
    public const int MaxTagsPerCall = 1000;

    /// <summary>Largest JSON of a run's logged inputs.</summary>
    public const int MaxInputsBytes = 1 << 20;

    /// <summary>Longest path of a run's file.</summary>
    public const int MaxArtifactPathLength = 1000;

    /// <summary>A project id: "0" (the Default project) or 32 lowercase hex digits; anything else names no project (404).</summary>
    public static string ProjectId(string? id) =>
        id is "0" || (id is { Length: 32 } && id.All(char.IsAsciiHexDigitLower)) ? id : throw PhantomException.NotFound("experiment", id ?? "");

    /// <summary>A project's name: 1-500 characters, no control characters, not blank.</summary>
    public static string ProjectName(string? name, string field = "name") =>
        !string.IsNullOrWhiteSpace(name) && name.Length <= 500 && !name.Any(char.IsControl) ? name
            : throw PhantomException.Invalid("An experiment name is 1 to 500 characters, not blank, without control characters.", field);

    /// <summary>A run's name: 1-250 characters without control characters.</summary>
    public static string RunName(string name) =>
        !string.IsNullOrWhiteSpace(name) && name.Length <= MaxKeyLength && !name.Any(char.IsControl) ? name
            : throw PhantomException.Invalid("A run name is 1 to 250 characters, not blank, without control characters.", "run_name");

    /// <summary>A tag or parameter key.</summary>
    public static string Key(string? key, string field = "key") =>
        !string.IsNullOrWhiteSpace(key) && key.Length <= MaxKeyLength && key.All(c => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' ' or ':')
        && !key.Split('/').Any(part => part is "." or "..")
            ? key
            : throw PhantomException.Invalid($"Invalid {field} '{Shown(key)}': 1 to 250 letters, digits, spaces and _ - . / :.", field);

    /// <summary>A tag's value.</summary>
    public static string TagValue(string? key, string? value) =>
        value is not null && value.Length <= MaxTagValueLength && !value.Contains('\0') ? value
            : throw PhantomException.Invalid($"Tag '{Shown(key)}': a value is at most {MaxTagValueLength} characters, without NUL.", "value");

    /// <summary>Tags to set, checked; null is none.</summary>
    public static Dictionary<string, string> Tags(IReadOnlyDictionary<string, string>? tags)
    {
        if (tags is { Count: > MaxTagsPerCall })
        {
            throw PhantomException.Invalid($"Set at most {MaxTagsPerCall} tags at a time.", "tags");
        }

        return (tags ?? new Dictionary<string, string>()).ToDictionary(tag => Key(tag.Key, "tag key"), tag => TagValue(tag.Key, tag.Value));
    }

    /// <summary>Logged inputs: a JSON array of objects, at most 1 MiB; returned compact.</summary>
    public static JsonElement Inputs(string? inputs)
    {
        if (string.IsNullOrEmpty(inputs) || inputs.Length > MaxInputsBytes)
        {
            throw PhantomException.Invalid("datasets is a JSON array of dataset inputs, at most 1 MiB.", "datasets");
        }

        try
        {
            using var document = JsonDocument.Parse(inputs);
            return document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object)
                ? document.RootElement.Clone()
                : throw PhantomException.Invalid("datasets is a JSON array of dataset inputs (objects).", "datasets");
        }
        catch (JsonException)
        {
            throw PhantomException.Invalid("datasets is not valid JSON.", "datasets");
        }
    }

    /// <summary>
    /// A run file's path: relative, '/'-separated, 1-1000 characters, no empty, '.' or '..' segment, no backslash or control
    /// character. It is only ever a row's value, never part of an object key; the checks keep it meaning one file.
    /// </summary>
    public static string ArtifactPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > MaxArtifactPathLength || path.StartsWith('/') || path.Contains('\\')
            || path.Any(char.IsControl) || path.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw PhantomException.Invalid("An artifact path is relative, 1 to 1000 characters, without '.', '..' or empty segments, backslashes " +
                "or control characters.", "path");
        }

        return path;
    }

    /// <summary>A directory of a run's files: empty for the root, else a path (a trailing '/' is dropped).</summary>
    public static string ArtifactDirectory(string? directory) =>
        string.IsNullOrEmpty(directory) ? "" : ArtifactPath(directory.TrimEnd('/'));

    private static string Shown(string? text) => text is null ? "" : text.Length > 60 ? text[..60] + "..." : text;
}
