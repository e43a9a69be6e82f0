using System.Globalization;
using System.Text;

namespace PhantomMl.Grains.Training;

/// <summary>MLflow page tokens over offsets (opaque to clients, as MLflow's own).</summary>
public static class PageTokens
{
    /// <summary>The token of an offset.</summary>
    public static string Of(long offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"offset:{offset}"));

    /// <summary>The offset of a token this API gave; 400 for anything else.</summary>
    public static long Offset(string token)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return text.StartsWith("offset:", StringComparison.Ordinal) && long.TryParse(text[7..], NumberStyles.None,
                CultureInfo.InvariantCulture, out var offset)
                ? offset
                : throw PhantomException.Invalid("page_token is not a token this API gave.", "page_token");
        }
        catch (FormatException)
        {
            throw PhantomException.Invalid("page_token is not a token this API gave.", "page_token");
        }
    }
}
