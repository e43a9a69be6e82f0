using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// See <see cref="IAuditChainGrain"/>. One activation per tenant assigns the tenant's chain, so tenants seal in
/// parallel and writers never wait for the chain; the head row's lock keeps two activations (during a failover) from
/// linking the same rows twice. After sealing, the search backend indexes what was sealed (nothing for PostgreSQL, which
/// searches the trail itself); indexing that fails is retried by the next seal, from where it stopped.
/// </summary>
public sealed partial class AuditChainGrain(AuditChainSql chainSql, AuditSigner signer, IAuditSearch search, IOptions<AuditOptions> options,
    TimeProvider time, ILogger<AuditChainGrain> logger) : Grain, IAuditChainGrain
{
    /// <inheritdoc />
    public async Task<int> SealAsync()
    {
        var tenantId = this.GetPrimaryKey();
        var total = 0;
        bool more;
        do
        {
            (var sealedNow, more) = await chainSql.SealAsync(tenantId, options.Value.SealBatchSize);
            total += sealedNow;
        }
        while (more);

        try
        {
            await search.CatchUpAsync(tenantId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogIndexingFailed(e, search.Backend, tenantId);
        }

        return total;
    }

    /// <inheritdoc />
    public async Task<AuditDigest?> CreateDigestAsync()
    {
        await SealAsync();
        return await chainSql.CreateDigestAsync(this.GetPrimaryKey(), time.GetUtcNow(), signer);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit search backend {Backend} could not index tenant {TenantId}; the next seal retries")]
    private partial void LogIndexingFailed(Exception exception, string backend, Guid tenantId);
}
