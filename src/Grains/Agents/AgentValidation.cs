using System.Text;
using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Agents;

/// <summary>The rules for names and payloads of the Agents area, checked before anything is written.</summary>
public static class AgentValidation
{
    /// <summary>Longest agent, workflow and step name.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Longest config of an agent or definition of a workflow, in characters.</summary>
    public const int MaxDefinitionChars = 256 * 1024;

    /// <summary>A name: 1 to 100 of a-z, A-Z, 0-9, '-', '_', '.', starting with a letter or digit.</summary>
    public static string Name(string? name, string field) =>
        name is { Length: > 0 and <= MaxNameLength } && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? name
            : throw PhantomException.Invalid(
                $"{field} is 1 to {MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.", field);

    /// <summary>A JSON object (or null: an empty object) of at most <paramref name="maxBytes"/> UTF-8 bytes.</summary>
    public static string Payload(string? json, long maxBytes, string field)
    {
        var text = JsonText.ObjectOrNull(json, MaxDefinitionChars * 4, field) ?? "{}";
        var bytes = Encoding.UTF8.GetByteCount(text);
        return bytes <= maxBytes
            ? text
            : throw PhantomException.TooLarge($"{field} is {bytes} bytes; this tenant's agent_payload_bytes is {maxBytes}.", "agent_payload_bytes");
    }

    /// <summary>An optional free text without control characters.</summary>
    public static string? Text(string? text, int maxLength, string field) =>
        text is null || (text.Length <= maxLength && !text.Any(c => char.IsControl(c) && c is not ('\n' or '\t')))
            ? text
            : throw PhantomException.Invalid($"{field} is at most {maxLength} characters without control characters.", field);
}
