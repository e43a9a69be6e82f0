using System.Text.Json;

namespace PhantomMl.Silo.Apis;

/// <summary>Free-form JSON members of request bodies, as the grains take them: the raw text, or null when absent.</summary>
internal static class JsonBody
{
    /// <summary>The member's JSON text; null when it was left out or sent as null.</summary>
    public static string? RawOrNull(JsonElement? element) =>
        element is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } json ? json.GetRawText() : null;
}
