using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using PhantomMl.Grains;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// The arguments of an MLflow call, from its JSON body (POST, PATCH, DELETE) or its query string (GET), read the way
/// MLflow's proto-JSON does: 64-bit numbers as numbers or strings, repeated fields as arrays (or repeated query keys).
/// Wrong types and missing required fields are 400 INVALID_PARAMETER_VALUE naming the field.
/// </summary>
public sealed class MlflowArgs : IDisposable
{
    private readonly JsonDocument? _body;
    private readonly IQueryCollection _query;

    private MlflowArgs(JsonDocument? body, IQueryCollection query)
    {
        _body = body;
        _query = query;
    }

    /// <summary>Reads the call's arguments; <paramref name="maxBodyBytes"/> raises the JSON body limit for calls that carry much (log-batch).</summary>
    public static async Task<MlflowArgs> ReadAsync(HttpContext http, long? maxBodyBytes = null)
    {
        if (HttpMethods.IsGet(http.Request.Method))
        {
            return new MlflowArgs(null, http.Request.Query);
        }

        if (maxBodyBytes is { } limit && http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        try
        {
            var document = await JsonDocument.ParseAsync(http.Request.Body, new JsonDocumentOptions { MaxDepth = 32 }, http.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object ? new MlflowArgs(document, http.Request.Query)
                : throw PhantomException.Invalid("The request body is a JSON object.", "body");
        }
        catch (JsonException e)
        {
            // An empty body is no arguments (MLflow's clients send none for some calls).
            return e.BytePositionInLine == 0 && e.LineNumber == 0 && http.Request.ContentLength is null or 0
                ? new MlflowArgs(null, http.Request.Query)
                : throw PhantomException.Invalid($"The request body is not valid JSON: {e.Message}", "body");
        }
    }

    /// <summary>A required string.</summary>
    public string String(string name) => OptionalString(name) is { Length: > 0 } value ? value : throw Missing(name);

    /// <summary>An optional string (null when absent or JSON null).</summary>
    public string? OptionalString(string name)
    {
        if (_body is null)
        {
            return _query.TryGetValue(name, out var values) ? values.ToString() : null;
        }

        return Member(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            { ValueKind: JsonValueKind.Number } value => value.GetRawText(),
            _ => throw WrongType(name, "a string"),
        };
    }

    /// <summary>The first of several names that is present (MLflow's run_id and its older run_uuid).</summary>
    public string String(params string[] names) => names.Select(OptionalString).FirstOrDefault(value => !string.IsNullOrEmpty(value))
        ?? throw Missing(names[0]);

    /// <summary>An optional 64-bit integer, as a JSON number or string.</summary>
    public long? Long(string name)
    {
        var text = _body is null ? OptionalString(name) : Member(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value => value.GetRawText(),
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            _ => throw WrongType(name, "an integer"),
        };
        return text is null ? null
            : long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
            : throw WrongType(name, "an integer");
    }

    /// <summary>An optional integer within bounds, or its default.</summary>
    public int Int(string name, int defaultValue, int min, int max) => Long(name) switch
    {
        null => defaultValue,
        var value when value >= min && value <= max => (int)value,
        _ => throw PhantomException.Invalid($"'{name}' is {min} to {max}.", name),
    };

    /// <summary>A required number; NaN and infinities as MLflow's clients send them ("NaN", "Infinity", "-Infinity").</summary>
    public double Double(string name) => _body is null
        ? OptionalString(name) is { } text ? ParseDouble(text, name) : throw Missing(name)
        : DoubleOf(Member(name), name);

    /// <summary>An optional boolean.</summary>
    public bool Bool(string name, bool defaultValue = false) => _body is null
        ? OptionalString(name) is { } text ? bool.TryParse(text, out var flag) ? flag : throw WrongType(name, "true or false") : defaultValue
        : Member(name) switch
        {
            null => defaultValue,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw WrongType(name, "true or false"),
        };

    /// <summary>A repeated string (an array, or repeated query keys); empty when absent.</summary>
    public IReadOnlyList<string> Strings(string name)
    {
        if (_body is null)
        {
            return _query.TryGetValue(name, out var values) ? values.Where(v => v is not null).Select(v => v!).ToList() : [];
        }

        return Member(name) switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } array => array.EnumerateArray()
                .Select(item => item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WrongType(name, "an array of strings")).ToList(),
            { ValueKind: JsonValueKind.String } one => [one.GetString()!],
            _ => throw WrongType(name, "an array of strings"),
        };
    }

    /// <summary>A repeated message (an array of objects); empty when absent.</summary>
    public IReadOnlyList<JsonElement> Objects(string name) => Member(name) switch
    {
        null => [],
        { ValueKind: JsonValueKind.Array } array => array.EnumerateArray()
            .Select(item => item.ValueKind == JsonValueKind.Object ? item : throw WrongType(name, "an array of objects")).ToList(),
        _ => throw WrongType(name, "an array of objects"),
    };

    /// <summary>MLflow's repeated <c>{key, value}</c> pairs as a dictionary; a key given twice keeps its last value.</summary>
    public Dictionary<string, string> KeyValues(string name)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Objects(name))
        {
            pairs[StringOf(pair, "key", name) ?? throw PhantomException.Invalid($"Every {name} entry needs a key.", name)] =
                StringOf(pair, "value", name) ?? "";
        }

        return pairs;
    }

    /// <summary>A string member of an object of the request; null when absent.</summary>
    public static string? StringOf(JsonElement element, string member, string field) =>
        !element.TryGetProperty(member, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw WrongType($"{field}.{member}", "a string"),
        };

    /// <summary>A 64-bit integer member of an object of the request; null when absent.</summary>
    public static long? LongOf(JsonElement element, string member, string field)
    {
        if (!element.TryGetProperty(member, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = value.ValueKind is JsonValueKind.Number ? value.GetRawText() : value.ValueKind is JsonValueKind.String ? value.GetString() : null;
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
            : throw WrongType($"{field}.{member}", "an integer");
    }

    /// <summary>A number member of an object of the request.</summary>
    public static double DoubleOf(JsonElement element, string member, string field) =>
        DoubleOf(element.TryGetProperty(member, out var value) ? value : null, $"{field}.{member}");

    /// <inheritdoc />
    public void Dispose() => _body?.Dispose();

    private JsonElement? Member(string name) =>
        _body is not null && _body.RootElement.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static double DoubleOf(JsonElement? value, string name) => value switch
    {
        { ValueKind: JsonValueKind.Number } number => number.GetDouble(),
        { ValueKind: JsonValueKind.String } text => ParseDouble(text.GetString()!, name),
        null => throw Missing(name),
        _ => throw WrongType(name, "a number"),
    };

    private static double ParseDouble(string text, string name) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" or "inf" => double.PositiveInfinity,
        "-Infinity" or "-inf" => double.NegativeInfinity,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw WrongType(name, "a number"),
    };

    private static PhantomException Missing(string name) => PhantomException.Invalid($"Missing value for required parameter '{name}'.", name);

    private static PhantomException WrongType(string name, string expected) =>
        PhantomException.Invalid($"Invalid value for parameter '{name}': expected {expected}.", name);
}
