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
    /// <summary>Loads the scripts of one store (<c>postgresql</c> or <c>clickhouse</c>), ordered by version.</summary>
    public static IReadOnlyList<MigrationScript> Load(string store)
    {
        var assembly = typeof(MigrationScript).Assembly;
        var prefix = store + "/";
        var scripts = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(name => FromResource(assembly, name, name[prefix.Length..]))
            .OrderBy(script => script.Version)
            .ToList();

        var duplicate = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two {store} migrations share version {duplicate.Key}.");
        }

        return scripts;
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
