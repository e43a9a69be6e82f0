using Microsoft.Extensions.Logging;
using Npgsql;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The first credential of a new installation: a platform-admin API key, written to a file only the
/// operator can read. Runs as the schema owner, the only role allowed to hold keys without a tenant.
/// </summary>
public sealed partial class PlatformAdminBootstrap(ILogger<PlatformAdminBootstrap> logger)
{
    /// <summary>
    /// Keeps the key in <paramref name="keyFile"/> when it still authenticates as an active platform admin;
    /// otherwise issues a new one and writes it there (mode 600). Returns the key and whether it is new.
    /// </summary>
    public async Task<(string Key, bool Issued)> EnsureAsync(NpgsqlDataSource owner, string keyFile, string adminName, CancellationToken cancellationToken = default)
    {
        if (File.Exists(keyFile) && (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim() is { Length: > 0 } existing
            && await IsActivePlatformKeyAsync(owner, existing, cancellationToken))
        {
            return (existing, false);
        }

        var (key, prefix, hash) = ApiKeySecret.Generate();
        await using var command = owner.CreateCommand("""
            INSERT INTO api_keys (id, platform_admin_name, name, prefix, secret_hash, created_by)
            VALUES (@id, @admin, 'bootstrap', @prefix, @hash, 'bootstrap')
            """);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("admin", adminName);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("hash", hash);
        await command.ExecuteNonQueryAsync(cancellationToken);

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

    private static async Task<bool> IsActivePlatformKeyAsync(NpgsqlDataSource owner, string key, CancellationToken cancellationToken)
    {
        if (ApiKeySecret.Parse(key) is not { } parsed)
        {
            return false;
        }

        await using var command = owner.CreateCommand("""
            SELECT count(*) FROM api_keys
             WHERE prefix = @prefix AND secret_hash = @hash AND platform_admin_name IS NOT NULL
               AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """);
        command.Parameters.AddWithValue("prefix", parsed.Prefix);
        command.Parameters.AddWithValue("hash", parsed.Hash);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Issued platform-admin API key {Prefix} for {Admin}, written to {KeyFile}")]
    private partial void LogIssued(string admin, string prefix, string keyFile);
}
