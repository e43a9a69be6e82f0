using System.Text.Json;
using System.Text.Json.Nodes;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// An agent's settings: its version's config with the execution's context laid over it member by member (the context
/// wins), read with typed accessors that answer 400 naming the member when it is missing or of the wrong type.
/// </summary>
public sealed class AgentSettings(JsonObject values)
{
    /// <summary>The merged object.</summary>
    public JsonObject Values { get; } = values;

    /// <summary>Config overlaid by context (both JSON objects; the context may be null).</summary>
    public static AgentSettings Merge(string config, string? context)
    {
        var merged = JsonNode.Parse(config)!.AsObject();
        if (context is not null)
        {
            foreach (var (name, value) in JsonNode.Parse(context)!.AsObject())
            {
                merged[name] = value?.DeepClone();
            }
        }

        return new AgentSettings(merged);
    }

    /// <summary>A required string of at most <paramref name="maxLength"/> characters.</summary>
    public string String(string name, int maxLength = 255) => OptionalString(name, maxLength) ?? throw Missing(name, "a string");

    /// <summary>An optional string of at most <paramref name="maxLength"/> characters.</summary>
    public string? OptionalString(string name, int maxLength = 255)
    {
        var node = Values[name];
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.String && node.GetValue<string>() is { Length: > 0 } text && text.Length <= maxLength
            ? text
            : throw Wrong(name, $"a string of 1 to {maxLength} characters");
    }

    /// <summary>An optional number within [min, max].</summary>
    public double? OptionalNumber(string name, double min, double max)
    {
        var node = Values[name];
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.Number && node.GetValue<double>() is var number && number >= min && number <= max
            ? number
            : throw Wrong(name, $"a number from {min} to {max}");
    }

    /// <summary>An optional whole number within [min, max].</summary>
    public long? OptionalInteger(string name, long min, long max) =>
        OptionalNumber(name, min, max) is { } number
            ? number == Math.Floor(number) ? (long)number : throw Wrong(name, $"a whole number from {min} to {max}")
            : null;

    /// <summary>An optional boolean.</summary>
    public bool? OptionalBoolean(string name) => Values[name] switch
    {
        null => null,
        var node when node.GetValueKind() is JsonValueKind.True or JsonValueKind.False => node.GetValue<bool>(),
        _ => throw Wrong(name, "true or false"),
    };

    /// <summary>An optional JSON object.</summary>
    public JsonObject? OptionalObject(string name) => Values[name] switch
    {
        null => null,
        JsonObject node => node,
        _ => throw Wrong(name, "a JSON object"),
    };

    private static PhantomException Missing(string name, string what) => PhantomException.Invalid($"The agent needs '{name}', {what}.", name);

    private static PhantomException Wrong(string name, string what) => PhantomException.Invalid($"'{name}' must be {what}.", name);
}
