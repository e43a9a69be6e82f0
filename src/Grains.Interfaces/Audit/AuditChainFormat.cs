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
            WriteTagsAndRetention(writer, entry);
            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The format of rows sealed since migration 0019: personal parts enter only as salted hashes.</summary>
    public const string VersionV2 = "phantom-audit-v2";

    /// <summary>
    /// The keys of <c>details</c> that are personal data: in format v2 they belong to the subject part of the row, and
    /// erasure removes them.
    /// </summary>
    public static readonly IReadOnlyList<string> PersonalDetailKeys = ["email", "userId", "user", "displayName", "fullName", "phone", "ipAddress",
        "userAgent", "comment"];

    /// <summary>The pseudonym that replaces an erased subject: the erasure request's id.</summary>
    public static string Pseudonym(Guid erasureRequestId) => $"erased:{erasureRequestId:D}";

    /// <summary>
    /// The resource types whose resource_id may be a user's id: a tenant's user, and their API keys (created and listed
    /// under the user's id; a revoked key is named by its own id).
    /// </summary>
    public static readonly IReadOnlySet<string> UserResourceTypes = new HashSet<string> { "tenant-user", "api-key" };

    /// <summary>
    /// Splits a row into its personal parts (JSON arrays) and its details without personal keys. The actor part, who
    /// acted, is [user_id, session_id, ip_address, user_agent]. The subject part, who the row is about, exists when the
    /// row's resource id names a user (<see cref="NamesUser"/>) or its details carry personal keys: [that user's id, else
    /// null; the personal keys of details as an object, else null].
    /// </summary>
    public static (string Actor, string? Subject, string? Details) PersonalParts(AuditEntry entry)
    {
        var (personal, details) = SplitDetails(entry.Details);
        var aboutUser = NamesUser(entry);
        var actor = Array(writer =>
        {
            writer.WriteStringValue(entry.UserId);
            WriteNullable(writer, entry.SessionId);
            WriteNullable(writer, entry.IpAddress);
            WriteNullable(writer, entry.UserAgent);
        });
        var subject = aboutUser || personal is not null
            ? Array(writer =>
            {
                WriteNullable(writer, aboutUser ? entry.ResourceId : null);
                WriteNullable(writer, personal);
            })
            : null;
        return (actor, subject, details);
    }

    /// <summary>Whether an erasure left the row's subject part blank: no user id but a pseudonym, no personal keys in details.</summary>
    public static bool SubjectErased(AuditEntry entry, IReadOnlySet<string> pseudonyms) =>
        (!NamesUser(entry) || pseudonyms.Contains(entry.ResourceId)) && SplitDetails(entry.Details).Personal is null;

    /// <summary>Whether the row's resource id is a user's id: a user or key resource not named by a UUID.</summary>
    public static bool NamesUser(AuditEntry entry) => UserResourceTypes.Contains(entry.ResourceType) && !Guid.TryParse(entry.ResourceId, out _);

    /// <summary>The hash of a personal part: SHA-256(salt ‖ UTF-8 of the part).</summary>
    public static byte[] PartHash(byte[] salt, string part)
    {
        var bytes = Encoding.UTF8.GetBytes(part);
        var input = new byte[salt.Length + bytes.Length];
        salt.CopyTo(input, 0);
        bytes.CopyTo(input, salt.Length);
        return SHA256.HashData(input);
    }

    /// <summary>
    /// The canonical content of a v2 row: like v1, but user_id, session_id, ip_address and user_agent (and resource_id of
    /// a row about a user) are replaced by the hashes of the personal parts, and details lose their personal keys.
    /// The hashes are the ones stored when the row was sealed: an erased row has lost what they were computed from.
    /// </summary>
    public static string CanonicalV2(Guid tenantId, AuditEntry entry, byte[] actorHash, byte[]? subjectHash)
    {
        var (_, _, details) = PersonalParts(entry);
        return Array(writer =>
        {
            writer.WriteStringValue(VersionV2);
            writer.WriteStringValue(entry.Id.ToString("D"));
            writer.WriteStringValue(tenantId.ToString("D"));
            writer.WriteStringValue(entry.EventId);
            writer.WriteNumberValue(Micros(entry.Timestamp));
            writer.WriteStringValue(Hex(actorHash));
            WriteNullable(writer, subjectHash is null ? null : Hex(subjectHash));
            writer.WriteStringValue(entry.EventType);
            writer.WriteStringValue(entry.ResourceType);
            WriteNullable(writer, NamesUser(entry) ? null : entry.ResourceId);
            writer.WriteStringValue(entry.Action);
            writer.WriteStringValue(entry.Result);
            WriteNullable(writer, entry.RiskScore?.ToString("0.00", CultureInfo.InvariantCulture));
            WriteNullable(writer, details);
            WriteTagsAndRetention(writer, entry);
        });
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

    private static void WriteTagsAndRetention(Utf8JsonWriter writer, AuditEntry entry)
    {
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
    }

    private static string Array(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            write(writer);
            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// The personal keys of a details object (as a JSON object, null when none) and the rest, both written the same way
    /// every time (values copied token by token), so the rest reads the same before and after an erasure removed the
    /// personal keys in the database.
    /// </summary>
    private static (string? Personal, string? Others) SplitDetails(string? details)
    {
        if (details is null)
        {
            return (null, null);
        }

        using var document = JsonDocument.Parse(details);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.EnumerateObject().Any(p => PersonalDetailKeys.Contains(p.Name)))
        {
            return (null, Object(document.RootElement, keep: _ => true));
        }

        return (Object(document.RootElement, PersonalDetailKeys.Contains), Object(document.RootElement, name => !PersonalDetailKeys.Contains(name)));
    }

    private static string Object(JsonElement source, Func<string, bool> keep)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (source.ValueKind != JsonValueKind.Object)
            {
                source.WriteTo(writer);
            }
            else
            {
                writer.WriteStartObject();
                foreach (var property in source.EnumerateObject().Where(p => keep(p.Name)))
                {
                    property.WriteTo(writer);
                }

                writer.WriteEndObject();
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

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
