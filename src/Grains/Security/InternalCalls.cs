using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Calls the platform makes to itself (the built-in trainer registering a version, the watchdog recovering a
/// job) run as a named component instead of a user: they carry the cluster's internal secret (migration 0013)
/// in the call context, and <see cref="CallerAuthenticator"/> turns it into a platform-wide caller
/// <c>system:{component}</c>. Every grain still checks and audits such calls like any other.
/// </summary>
public sealed class InternalCalls(TenantDatabase database)
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private string? _secret;

    /// <summary>Runs <paramref name="work"/> as <paramref name="component"/>; calls it makes are internal calls.</summary>
    public async Task<T> AsComponentAsync<T>(string component, Func<Task<T>> work)
    {
        var secret = await SecretAsync();
        RequestContext.Clear();
        RequestContext.Set(CallContext.InternalSecret, secret);
        RequestContext.Set(CallContext.Component, component);
        // No request id: each call the component makes is its own request (its own audit event id).
        try
        {
            return await work();
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    /// <summary>Whether <paramref name="presented"/> is the cluster's internal secret.</summary>
    public async Task<bool> IsInternalAsync(string presented)
    {
        var secret = await SecretAsync();
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(secret));
    }

    private async Task<string> SecretAsync()
    {
        if (_secret is not null)
        {
            return _secret;
        }

        await _loading.WaitAsync();
        try
        {
            if (_secret is null)
            {
                await using var command = database.CreateCommand("SELECT secret FROM cluster_secrets WHERE name = 'internal-calls'");
                _secret = await command.ExecuteScalarAsync() as string
                    ?? throw new NpgsqlException("cluster_secrets has no internal-calls secret: is the schema migrated?");
            }

            return _secret;
        }
        finally
        {
            _loading.Release();
        }
    }
}
