using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace PhantomMl.Grains.Security;

/// <summary>
/// API key format <c>phm_&lt;prefix&gt;_&lt;secret&gt;</c>: a 12-character public prefix to find the key by, and
/// 256 random bits. Only the SHA-256 of the whole key is stored; the key is shown once and cannot be recovered.
/// </summary>
public static partial class ApiKeySecret
{
    /// <summary>A new random key, with its prefix and stored hash.</summary>
    public static (string Key, string Prefix, byte[] Hash) Generate()
    {
        var prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var key = $"phm_{prefix}_{secret}";
        return (key, prefix, Hash(key));
    }

    /// <summary>Splits a presented key; null when it is not in the key format at all.</summary>
    public static (string Prefix, byte[] Hash)? Parse(string? presented)
    {
        if (presented is null || presented.Length > 100)
        {
            return null;
        }

        var match = KeyFormat().Match(presented);
        return match.Success ? (match.Groups["prefix"].Value, Hash(presented)) : null;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^phm_(?<prefix>[0-9a-f]{12})_[A-Za-z0-9_-]{43}$")]
    private static partial Regex KeyFormat();
}
