using System.Security.Cryptography;
using System.Text;

namespace PhantomMl.Grains.Common;

/// <summary>
/// Text that comes from outside (client details, names, details of audit rows) made fit for a PostgreSQL column: NUL,
/// which PostgreSQL text cannot hold, becomes U+FFFD, and a value over the column's length is cut with a marker and a
/// hash of the whole, so two long values that share a beginning stay different and a reader sees it was cut.
/// </summary>
public static class BoundedText
{
    /// <summary>What replaces NUL.</summary>
    public const char NulReplacement = '\uFFFD';

    private const string Marker = "~cut:";
    private const int HashChars = 16;

    /// <summary>The value fit for a column of <paramref name="maxLength"/> characters; null stays null.</summary>
    public static string? Fit(string? value, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        var clean = value.Contains('\0') ? value.Replace('\0', NulReplacement) : value;
        if (clean.Length <= maxLength)
        {
            return clean;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..HashChars];
        var keep = Math.Max(0, maxLength - Marker.Length - HashChars);
        return string.Concat(clean.AsSpan(0, keep), Marker, hash);
    }

    /// <summary>A value a caller sent, fit to be shown in an error message: at most 80 characters, no NUL.</summary>
    public static string Shown(string? value) => Fit(value ?? "", 80)!;

    /// <summary>Whether <paramref name="value"/> was cut by <see cref="Fit"/>.</summary>
    public static bool WasCut(string value) => value.Length > Marker.Length + HashChars
        && value.AsSpan(value.Length - Marker.Length - HashChars).StartsWith(Marker);
}
