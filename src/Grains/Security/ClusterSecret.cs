using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The cluster's internal secret (migration 0013, <c>cluster_secrets</c>), which only the silos can read: it marks every
/// call a silo makes (<see cref="OriginStampFilter"/>), so that a call without it is known to come from a client, and
/// it is what platform components present instead of an API key (<see cref="InternalCalls"/>). Read once as the silo
/// starts, before it joins the cluster: a silo that cannot read it does not start.
/// </summary>
public sealed partial class ClusterSecret(SecuritySql sql, ILogger<ClusterSecret> logger) : IHostedService
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);
    private byte[]? _bytes;

    /// <summary>The secret; null until it was read.</summary>
    public string? Value { get; private set; }

    /// <summary>
    /// A short public name of this deployment (the first 16 hex digits of the secret's SHA-256), for the keys it keeps in
    /// shared stores such as Redis: one Redis may serve several deployments, and their keys must not meet.
    /// </summary>
    public string DeploymentTag => _deploymentTag ??= Convert.ToHexStringLower(SHA256.HashData(
        _bytes ?? throw new InvalidOperationException("The cluster secret is not loaded.")))[..16];

    private string? _deploymentTag;

    /// <summary>Whether <paramref name="presented"/> is the secret (in constant time).</summary>
    public bool Matches(string? presented) =>
        presented is not null && _bytes is { } expected && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), expected);

    /// <summary>Reads the secret, retrying while PostgreSQL is not reachable yet, for at most a minute.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + GiveUpAfter;
        while (true)
        {
            try
            {
                var secret = await sql.ReadClusterSecretAsync(cancellationToken)
                    ?? throw new InvalidOperationException("cluster_secrets has no internal-calls secret.");
                _bytes = Encoding.UTF8.GetBytes(secret);
                Value = secret;
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException && DateTimeOffset.UtcNow < deadline)
            {
                LogNotYet(e);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    "The silo cannot read the cluster's internal secret from cluster_secrets: is PostgreSQL reachable and the schema migrated " +
                        "(scripts/silo.sh migrate)?", e);
            }
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the cluster's internal secret yet; retrying")]
    private partial void LogNotYet(Exception exception);
}
