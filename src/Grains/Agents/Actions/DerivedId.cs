using System.Security.Cryptography;
using System.Text;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Ids derived from an execution (or a run) and a purpose, so that work started again after a crash finds what the
/// first try started (the same training job, the same step execution) instead of starting it twice.
/// </summary>
public static class DerivedId
{
    /// <summary>A UUID (version 8, RFC 9562) from <paramref name="owner"/> and <paramref name="purpose"/>.</summary>
    public static Guid From(Guid owner, string purpose)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{owner:N}/{purpose}"), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
