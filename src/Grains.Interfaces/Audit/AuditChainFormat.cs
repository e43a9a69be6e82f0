using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// How a tenant's audit chain is computed, in one place for the silo, the SDK and offline checks (docs/audit.md):
/// a record hash is SHA-256 of the row's canonical content (a JSON array of every column in a fixed order, timestamps
/// in microseconds since the Unix epoch); a link is SHA-256 of the previous chain hash, the record hash and the row's
/// retention_until (8 bytes, big-endian microseconds), so the chain also fixes how long each row must be kept. The
/// chain of a tenant starts at SHA-256 of <c>phantom-audit-genesis:{tenant id}</c>.
/// </summary>
public static class AuditChainFormat
{
    /// <summary>The first element of every canonical record; a later format gets a new name.</summary>
    public const string Version = "phantom-audit-v1";

    /// <summary>The chain hash before a tenant's first entry.</summary>
    public static byte[] Genesis(Guid tenantId) => SHA256.HashData(Encoding.UTF8.GetBytes($"phantom-audit-genesis:{tenantId:D}"));

    /// <summary>The canonical content of <paramref name="entry"/> of <paramref name="tenantId"/>.</summary>
    public static string Canonical(Guid tenantId, AuditEntry entry)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(Version);
            writer.WriteStringValue(entry.Id.ToString("D"));
            writer.WriteStringValue(tenantId.ToString("D"));
            writer.WriteStringValue(entry.EventId);
            writer.WriteNumberValue(Micros(entry.Timestamp));
            writer.WriteStringValue(entry.UserId);
            WriteNullable(writer, entry.SessionId);
            writer.WriteStringValue(entry.EventType);
            writer.WriteStringValue(entry.ResourceType);
            writer.WriteStringValue(entry.ResourceId);
            writer.WriteStringValue(entry.Action);
            writer.WriteStringValue(entry.Result);
            WriteNullable(writer, entry.IpAddress);
            WriteNullable(writer, entry.UserAgent);
            WriteNullable(writer, entry.RiskScore?.ToString("0.00", CultureInfo.InvariantCulture));
            WriteNullable(writer, entry.Details);
            writer.WriteStartArray();
            foreach (var tag in entry.ComplianceTags ?? [])
            {
                writer.WriteStringValue(tag);
            }

            writer.WriteEndArray();
            if (entry.RetentionUntil is { } retention)
            {
                writer.WriteNumberValue(Micros(retention));
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>SHA-256 of the canonical content.</summary>
    public static byte[] RecordHash(string canonical) => SHA256.HashData(Encoding.UTF8.GetBytes(canonical));

    /// <summary>The chain hash of an entry: SHA-256(previous ‖ record hash ‖ retention_until as big-endian microseconds).</summary>
    public static byte[] Link(byte[] previous, byte[] recordHash, DateTimeOffset retentionUntil)
    {
        Span<byte> input = stackalloc byte[32 + 32 + 8];
        previous.CopyTo(input);
        recordHash.CopyTo(input[32..]);
        BinaryPrimitives.WriteInt64BigEndian(input[64..], Micros(retentionUntil));
        return SHA256.HashData(input);
    }

    /// <summary>Microseconds since the Unix epoch: PostgreSQL's precision.</summary>
    public static long Micros(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <summary>Lower-case hex.</summary>
    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static void WriteNullable(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
