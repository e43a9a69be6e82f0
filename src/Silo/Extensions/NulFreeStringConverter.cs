using System.Text.Json;
using System.Text.Json.Serialization;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Every string of a JSON request body, member names included: a NUL character is a 400 naming the member before any
/// grain sees it (PostgreSQL text cannot hold NUL, so it could never be stored, only fail).
/// </summary>
internal sealed class NulFreeStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return value?.Contains('\0') == true ? throw new JsonException("Strings must not contain NUL characters.") : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.GetString()!;
        return name.Contains('\0') ? throw new JsonException("Member names must not contain NUL characters.") : name;
    }

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
}
