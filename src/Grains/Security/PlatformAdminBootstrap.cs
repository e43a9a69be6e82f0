using Microsoft.Extensions.Logging;
using Npgsql;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The first credential of a new installation: a platform-admin API key, written to a file only the
/// operator can read. Runs as the schema owner, the only role allowed to hold keys without a tenant.
/// </summary>
public sealed partial class PlatformAdminBootstrap(SecuritySql sql, ILogger<PlatformAdminBootstrap> logger)
{
    /// <summary>
    /// Keeps the key in <paramref name="keyFile"/> when it still authenticates as an active platform admin;
    /// otherwise issues a new one and writes it there (mode 600). Returns the key and whether it is new.
    /// </summary>
    public async Task<(string Key, bool Issued)> EnsureAsync(NpgsqlDataSource owner, string keyFile, string adminName,
        CancellationToken cancellationToken = default)
    {
        if (File.Exists(keyFile) && (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim() is { Length: > 0 } existing
            && await IsActivePlatformKeyAsync(owner, existing, cancellationToken))
        {
            return (existing, false);
        }

        var (key, prefix, hash) = ApiKeySecret.Generate();
        await sql.InsertPlatformAdminKeyAsync(owner, adminName, prefix, hash, cancellationToken);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(keyFile))!);
        File.Delete(keyFile);
        // Created readable by its owner only, never briefly by others.
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new StreamWriter(keyFile, create))
        {
            await file.WriteLineAsync(key.AsMemory(), cancellationToken);
        }
        LogIssued(adminName, prefix, keyFile);
        return (key, true);
    }

    private async Task<bool> IsActivePlatformKeyAsync(NpgsqlDataSource owner, string key, CancellationToken cancellationToken) =>
        ApiKeySecret.Parse(key) is { } parsed && await sql.IsActivePlatformKeyAsync(owner, parsed.Prefix, parsed.Hash, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Issued platform-admin API key {Prefix} for {Admin}, written to {KeyFile}")]
    private partial void LogIssued(string admin, string prefix, string keyFile);
}
