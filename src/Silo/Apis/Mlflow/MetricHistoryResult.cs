using System.Text.Json;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// get-history's answer, written straight to the response: a page holds up to 100,000 points, and building a JSON node
/// per point first cost more than the ClickHouse read (measured in bench/ mlflow).
/// </summary>
internal sealed class MetricHistoryResult(string key, LoggedPointPage page) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        http.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(http.Response.BodyWriter.AsStream());
        var name = JsonEncodedText.Encode(key);
        json.WriteStartObject();
        json.WriteStartArray("metrics");
        for (var i = 0; i < page.Steps.Length; i++)
        {
            json.WriteStartObject();
            json.WriteString("key", name);
            var value = page.Values[i];
            if (double.IsFinite(value))
            {
                json.WriteNumber("value", value);
            }
            else
            {
                // As MLflowJson.Options writes them: "NaN", "Infinity", "-Infinity".
                json.WriteString("value", double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            }

            json.WriteNumber("timestamp", page.TimestampsMs[i]);
            json.WriteNumber("step", page.Steps[i]);
            json.WriteEndObject();
            if (json.BytesPending > 1 << 16)
            {
                await json.FlushAsync(http.RequestAborted);
            }
        }

        json.WriteEndArray();
        if (page.NextOffset is { } next)
        {
            json.WriteString("next_page_token", PageTokens.Of(next));
        }

        json.WriteEndObject();
        await json.FlushAsync(http.RequestAborted);
    }
}
