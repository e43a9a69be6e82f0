using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace PhantomMl.Grains.Adapters.Migrations;

/// <summary>One numbered schema file (<c>NNNN-what.sql</c>) embedded in this assembly.</summary>
/// <param name="Version">The number at the start of the file name.</param>
/// <param name="Name">The file name.</param>
/// <param name="Sql">The script.</param>
/// <param name="Checksum">SHA-256 of the script, so a changed applied migration is detected.</param>
public sealed record MigrationScript(int Version, string Name, string Sql, string Checksum)
{
    /// <summary>
    /// Checksums of earlier texts of this script that differ only in comments (listed in the store's
    /// <c>superseded-checksums.txt</c>): a database that recorded one of them has this script applied.
    /// </summary>
    public IReadOnlySet<string> SupersededChecksums { get; init; } = new HashSet<string>();

    /// <summary>Loads the scripts of one store (<c>postgresql</c> or <c>clickhouse</c>), ordered by version.</summary>
    public static IReadOnlyList<MigrationScript> Load(string store)
    {
        var assembly = typeof(MigrationScript).Assembly;
        var prefix = store + "/";
        var superseded = LoadSupersededChecksums(assembly, store);
        var scripts = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(name => FromResource(assembly, name, name[prefix.Length..]))
            .Select(script => script with { SupersededChecksums = superseded.GetValueOrDefault(script.Name) ?? new HashSet<string>() })
            .OrderBy(script => script.Version)
            .ToList();

        var duplicate = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two {store} migrations share version {duplicate.Key}.");
        }

        return scripts;
    }

    /// <summary>The store's <c>superseded-checksums.txt</c>: lines of "file checksum", <c>#</c> starting a comment.</summary>
    private static Dictionary<string, IReadOnlySet<string>> LoadSupersededChecksums(Assembly assembly, string store)
    {
        using var stream = assembly.GetManifestResourceStream($"superseded/{store}.txt");
        if (stream is null)
        {
            return [];
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .GroupBy(fields => fields[0], fields => fields[1], StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => (IReadOnlySet<string>)group.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    private static MigrationScript FromResource(Assembly assembly, string resource, string fileName)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded migration {resource}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var sql = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
        var dash = fileName.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !int.TryParse(fileName[..dash], out var version))
        {
            throw new InvalidOperationException($"Migration {fileName} must be named NNNN-what.sql.");
        }

        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
        return new MigrationScript(version, fileName, sql, checksum);
    }
}
