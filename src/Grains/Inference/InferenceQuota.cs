using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// The monthly inference_requests quota, enforced without a PostgreSQL round trip per request: each silo reserves a
/// block of requests (<see cref="InferenceOptions.QuotaLeaseSize"/>, less when the tenant has fewer left) from the
/// tenant's usage row in one conditional UPDATE, the same one every other quota goes through, and counts requests
/// down locally. PostgreSQL's usage is therefore never below what was served, so the limit holds across all silos;
/// the price is that usage runs up to one block per silo ahead, and a silo holding a block can make another refuse
/// up to that many requests early. A stopping silo gives its unused requests back; a crashed one's stay counted
/// (at most one block per tenant it served).
/// </summary>
public sealed partial class InferenceQuota(TenantDatabase database, IOptions<InferenceOptions> options, TimeProvider time, ILogger<InferenceQuota> logger)
    : IHostedService
{
    private readonly ConcurrentDictionary<Guid, Lease> _leases = new();

    /// <summary>Counts <paramref name="requests"/> against the tenant's quota, or throws 429 when it is used up.</summary>
    public async ValueTask ConsumeAsync(Guid tenantId, long requests)
    {
        var now = time.GetUtcNow();
        var period = Quotas.PeriodOf(Quotas.InferenceRequests, now).Start;
        var lease = _leases.GetOrAdd(tenantId, _ => new Lease());
        if (lease.TryTake(period, requests))
        {
            return;
        }

        await lease.Refilling.WaitAsync();
        try
        {
            if (lease.TryTake(period, requests))
            {
                return; // another request refilled it meanwhile
            }

            var granted = await database.InTenantAsync(tenantId, async (connection, transaction) =>
            {
                var tenant = await TenantStore.LoadAsync(connection, transaction) ?? throw PhantomException.NotFound("tenant", tenantId.ToString());
                var limit = tenant.EffectiveQuotas[Quotas.InferenceRequests];
                var used = (await TenantStore.ReadUsageAsync(connection, transaction, now))[Quotas.InferenceRequests];
                var block = Math.Max(requests, Math.Min(options.Value.QuotaLeaseSize, limit - used));
                try
                {
                    await TenantStore.ConsumeAsync(connection, transaction, tenantId, Quotas.InferenceRequests, block, limit, now);
                    return block;
                }
                catch (PhantomException e) when (e.Status == 429 && block > requests)
                {
                    // Another silo took part of what was left in between: ask for just this request.
                    await TenantStore.ConsumeAsync(connection, transaction, tenantId, Quotas.InferenceRequests, requests, limit, now);
                    return requests;
                }
            });
            lease.Add(period, granted - requests);
        }
        finally
        {
            lease.Refilling.Release();
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Gives the unused part of every block of the current month back.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var period = Quotas.PeriodOf(Quotas.InferenceRequests, now).Start;
        foreach (var (tenantId, lease) in _leases)
        {
            var unused = lease.TakeAll(period);
            if (unused == 0)
            {
                continue;
            }

            try
            {
                await database.InTenantAsync(tenantId, async (connection, transaction) =>
                {
                    var limit = (await TenantStore.LoadAsync(connection, transaction))?.EffectiveQuotas[Quotas.InferenceRequests] ?? 0;
                    await TenantStore.ConsumeAsync(connection, transaction, tenantId, Quotas.InferenceRequests, -unused, limit, now);
                    return true;
                }, cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogNotReturned(e, unused, tenantId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give {Unused} reserved inference requests back to tenant {TenantId}; they stay counted")]
    private partial void LogNotReturned(Exception exception, long unused, Guid tenantId);

    /// <summary>Requests a silo has reserved and not yet served, for one month.</summary>
    private sealed class Lease
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _period;
        private long _remaining;

        public SemaphoreSlim Refilling { get; } = new(1, 1);

        public bool TryTake(DateTimeOffset period, long requests)
        {
            lock (_gate)
            {
                if (_period != period || _remaining < requests)
                {
                    return false;
                }

                _remaining -= requests;
                return true;
            }
        }

        public void Add(DateTimeOffset period, long requests)
        {
            lock (_gate)
            {
                // A block of a month that ended was counted in that month: it is not carried over.
                _remaining = _period == period ? _remaining + requests : requests;
                _period = period;
            }
        }

        public long TakeAll(DateTimeOffset period)
        {
            lock (_gate)
            {
                var unused = _period == period ? _remaining : 0;
                _remaining = 0;
                return unused;
            }
        }
    }
}
