using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// The monthly quotas counted per request (inference_requests, inference_rows, shadow_scorings, agent_executions,
/// agent_log_bytes), enforced without a PostgreSQL round trip per request and without every request of a tenant
/// queueing on its one usage row: each silo reserves a block (the caller's lease size, less when the tenant has fewer
/// left) from the tenant's usage
/// row in one conditional UPDATE, the same one every other quota goes through, and counts down locally. PostgreSQL's
/// usage is therefore never below what was served, so the limit holds across all silos; the price is that usage runs up
/// to one block per silo ahead, and a silo holding a block can make another refuse up to that many early. A stopping
/// silo gives its unused blocks back; a crashed one's stay counted (at most one block per tenant and quota it served).
/// </summary>
public sealed partial class MonthlyQuotaLeases(TenantDatabase database, TenantSql tenantSql, TimeProvider time,
    ILogger<MonthlyQuotaLeases> logger)
    : IHostedService
{
    private readonly ConcurrentDictionary<(Guid TenantId, string Quota), Lease> _leases = new();

    /// <summary>
    /// Counts <paramref name="requests"/> against the tenant's monthly <paramref name="quota"/>, reserving
    /// <paramref name="leaseSize"/> at a time, or throws 429 when it is used up.
    /// </summary>
    public async ValueTask ConsumeAsync(Guid tenantId, string quota, long requests, long leaseSize)
    {
        var now = time.GetUtcNow();
        var period = Quotas.PeriodOf(quota, now).Start;
        var lease = _leases.GetOrAdd((tenantId, quota), _ => new Lease());
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
                var tenant = await tenantSql.LoadAsync(connection, transaction) ?? throw PhantomException.NotFound("tenant", tenantId.ToString());
                var limit = tenant.EffectiveQuotas[quota];
                var used = (await tenantSql.ReadUsageAsync(connection, transaction, now))[quota];
                var block = Math.Max(requests, Math.Min(leaseSize, limit - used));
                try
                {
                    await tenantSql.ConsumeAsync(connection, transaction, tenantId, quota, block, limit, now);
                    return block;
                }
                catch (PhantomException e) when (e.Status == 429 && block > requests)
                {
                    // Another silo took part of what was left in between: ask for just this request.
                    await tenantSql.ConsumeAsync(connection, transaction, tenantId, quota, requests, limit, now);
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
        foreach (var ((tenantId, quota), lease) in _leases)
        {
            var period = Quotas.PeriodOf(quota, now).Start;
            var unused = lease.TakeAll(period);
            if (unused == 0)
            {
                continue;
            }

            try
            {
                await database.InTenantAsync(tenantId, async (connection, transaction) =>
                {
                    var limit = (await tenantSql.LoadAsync(connection, transaction))?.EffectiveQuotas[quota] ?? 0;
                    await tenantSql.ConsumeAsync(connection, transaction, tenantId, quota, -unused, limit, now);
                    return true;
                }, cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogNotReturned(e, unused, quota, tenantId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give {Unused} reserved {Quota} back to tenant {TenantId}; they stay counted")]
    private partial void LogNotReturned(Exception exception, long unused, string quota, Guid tenantId);

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
