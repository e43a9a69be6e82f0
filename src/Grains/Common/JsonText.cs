using System.Text.Json;

namespace PhantomMl.Grains.Common;

/// <summary>
/// Free-form JSON members (metadata, config, summaries) as the platform stores them in jsonb: a JSON object within a size
/// limit, and no NUL anywhere in it (PostgreSQL's jsonb refuses <c>\u0000</c>), checked before anything is written.
/// </summary>
public static class JsonText
{
    private const int MaxDepth = 32;

    /// <summary>The text when it is a JSON object of at most <paramref name="maxChars"/> characters; null stays null; 400 otherwise.</summary>
    public static string? ObjectOrNull(string? json, int maxChars, string field)
    {
        if (json is null)
        {
            return null;
        }

        if (json.Length > maxChars)
        {
            throw PhantomException.Invalid($"{field} is at most {maxChars} characters of JSON.", field);
        }

        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth, AllowDuplicateProperties = false });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw PhantomException.Invalid($"{field} must be a JSON object.", field);
            }

            if (HasNul(document.RootElement))
            {
                throw PhantomException.Invalid($"{field} must not contain NUL characters.", field);
            }

            return json;
        }
        catch (JsonException)
        {
            throw PhantomException.Invalid($"{field} is not valid JSON (or repeats a member).", field);
        }
    }

    private static bool HasNul(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Any(member => member.Name.Contains('\0') || HasNul(member.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(HasNul),
        JsonValueKind.String => element.GetString()!.Contains('\0'),
        _ => false,
    };
}
