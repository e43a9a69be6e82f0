using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// See <see cref="IAuditChainGrain"/>. One activation per tenant assigns the tenant's chain, so tenants seal in
/// parallel and writers never wait for the chain; the head row's lock keeps two activations (during a failover) from
/// linking the same rows twice.
/// </summary>
public sealed class AuditChainGrain(AuditChainSql chainSql, AuditSigner signer, IOptions<AuditOptions> options, TimeProvider time)
    : Grain, IAuditChainGrain
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

        return total;
    }

    /// <inheritdoc />
    public async Task<AuditDigest?> CreateDigestAsync()
    {
        await SealAsync();
        return await chainSql.CreateDigestAsync(this.GetPrimaryKey(), time.GetUtcNow(), signer);
    }
}
