using System.IO.Compression;
using System.Text;
using System.Text.Json;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Compliance;

/// <summary>
/// The archive of a right-of-access request: one ZIP with a manifest, the user's profile, keys and audit rows, and what
/// they created, each section as JSON or JSON lines.
/// </summary>
public sealed class SubjectArchive
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly MemoryStream _buffer = new();
    private readonly ZipArchive _zip;
    private readonly List<object> _sections = [];

    /// <summary>Starts an empty archive.</summary>
    public SubjectArchive() => _zip = new ZipArchive(_buffer, ZipArchiveMode.Create, leaveOpen: true);

    /// <summary>Adds a JSON document.</summary>
    public void AddJson(string name, string json, string description)
    {
        Write(name, json);
        _sections.Add(new { file = name, description });
    }

    /// <summary>Adds JSON lines; <paramref name="truncated"/> says the section stopped at its limit.</summary>
    public void AddLines(string name, IReadOnlyList<string> lines, bool truncated, string description)
    {
        Write(name, string.Join('\n', lines) + (lines.Count > 0 ? "\n" : ""));
        _sections.Add(new { file = name, description, rows = lines.Count, truncated });
    }

    /// <summary>Adds audit rows as JSON lines.</summary>
    public void AddAudit(string name, IReadOnlyList<AuditEntry> rows, int limit, string description) =>
        AddLines(name, rows.Take(limit).Select(r => JsonSerializer.Serialize(r, JsonSerializerOptions.Web)).ToList(), rows.Count > limit,
            description);

    /// <summary>Writes the manifest and returns the archive's bytes.</summary>
    public byte[] Finish(object about)
    {
        Write("manifest.json", JsonSerializer.Serialize(new { about, sections = _sections }, Json));
        _zip.Dispose();
        return _buffer.ToArray();
    }

    private void Write(string name, string content)
    {
        var entry = _zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(Encoding.UTF8.GetBytes(content));
    }
}
