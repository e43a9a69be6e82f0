using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>
/// See <see cref="ITenantGrain"/>. The tenants row and its usage counters are the state; PostgreSQL is
/// their system of record, so this grain keeps no Orleans storage of its own. Each change commits together with its
/// audit row (the same request id replays as a no-op); refused and failed attempts leave their own audit row. Changes
/// are group committed (<see cref="AuditedChangeQueue"/>): those that wait for the activation share one transaction.
/// Changes that can narrow a caller's rights (tenant status and settings, users, key revocation) make every silo forget
/// the callers it remembers before they answer (<see cref="CredentialCache"/>).
/// </summary>
public sealed partial class TenantGrain(TenantDatabase database, AccessGuard guard, AuditedChanges changes, CredentialCache credentials,
    TimeProvider time,
    TenantSql tenantSql, TenantResolver tenantResolver, AuditSql auditSql)
    : Grain, ITenantGrain
{
    private readonly AuditedChangeQueue _changes = new();
    private TenantRecord? _tenant;

    private string Key => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _changes.FailAll(PhantomException.Unavailable(ProblemTypes.SiloStopping, "Not applied",
            "The change was not applied: the tenant's grain is stopping. Send it again."));
        return Task.CompletedTask;
    }

    /// <summary>The tenant, once the caller is authorized; a platform admin asking for a missing one gets 404 here.</summary>
    private TenantRecord Tenant => _tenant ?? throw PhantomException.NotFound("tenant", Key);

    /// <summary>
    /// Authorizes the caller on this tenant, then reads the tenant once per activation: the activation itself does no work,
    /// and a caller who may not see the tenant causes none.
    /// </summary>
    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(Key, permission, audit);
        if (_tenant is null)
        {
            // Changes interleave with this load: one committed meanwhile set the row that is current, and is kept.
            var loaded = await database.InTenantAsync(access.TenantId, (connection, transaction) => tenantSql.LoadAsync(connection, transaction));
            _tenant ??= loaded;
        }

        return access.Caller;
    }

    /// <inheritdoc />
    public async Task<TenantView> CreateAsync(CreateTenant command)
    {
        var audit = new AuditEvent("tenant_management", "tenant", Key, "create");
        var caller = await guard.AuthorizePlatformAsync(Permissions.TenantsCreate, audit);
        if (_tenant is null && TenantValidation.IsTenantKey(Key) && await tenantResolver.ResolveAsync(Key) is { } existing)
        {
            _tenant = await database.InTenantAsync(existing, (connection, transaction) => tenantSql.LoadAsync(connection, transaction));
        }

        if (_tenant is not null && await WasAppliedAsync(_tenant.Id, caller))
        {
            return _tenant.ToView(); // a retry of the request that created it
        }

        var now = time.GetUtcNow();
        var id = _tenant?.Id ?? Guid.CreateVersion7();
        // A refused creation has no tenant to be audited in: the platform's own tenant keeps it.
        var created = await changes.ApplyAsync(caller, _tenant is null ? id : PlatformTenant.Id, audit, async (connection, transaction) =>
        {
            TenantValidation.TenantKey(Key);
            if (_tenant is not null)
            {
                throw PhantomException.Conflict($"Tenant '{Key}' exists already.");
            }

            var valid = command ?? throw PhantomException.Invalid("Send the tenant's name.", "body");
            var tenant = new TenantRecord(id, Key, TenantValidation.Name(valid.Name), "active", TenantValidation.Tier(valid.SubscriptionTier),
                TenantValidation.IsolationLevel(valid.IsolationLevel), TenantValidation.QuotaOverrides(valid.ResourceQuotas),
                TenantValidation.ComplianceFrameworks(valid.ComplianceFrameworks), TenantValidation.DataResidency(valid.DataResidency),
                now, now, caller.UserId);
            await TenantSql.CheckAuditRetentionAsync(connection, transaction, tenant);
            await tenantSql.InsertAsync(connection, transaction, tenant);
            return tenant;
        }, failureTenantId: PlatformTenant.Id);
        _tenant = created;
        return created.ToView();
    }

    /// <inheritdoc />
    public async Task<TenantView> GetAsync()
    {
        await AuthorizeAsync(Permissions.TenantsRead, Read("tenant", Key));
        return Tenant.ToView();
    }

    /// <inheritdoc />
    public async Task<TenantView> UpdateAsync(UpdateTenant command)
    {
        var audit = new AuditEvent("tenant_management", "tenant", Key, "update", Details: command);
        var caller = await AuthorizeAsync(Permissions.TenantsUpdate, audit);
        return await ChangeAsync<TenantView>(caller, audit, async (connection, transaction) =>
        {
            var current = Tenant;
            var valid = command ?? throw PhantomException.Invalid("Send the members to change.", "body");
            var overrides = new Dictionary<string, long>(current.QuotaOverrides);
            foreach (var (quota, limit) in TenantValidation.QuotaOverrides(valid.ResourceQuotas))
            {
                overrides[quota] = limit;
            }

            var updated = current with
            {
                Name = valid.Name is null ? current.Name : TenantValidation.Name(valid.Name),
                Tier = valid.SubscriptionTier is null ? current.Tier : TenantValidation.Tier(valid.SubscriptionTier),
                IsolationLevel = valid.IsolationLevel is null ? current.IsolationLevel : TenantValidation.IsolationLevel(valid.IsolationLevel),
                QuotaOverrides = overrides,
                ComplianceFrameworks = valid.ComplianceFrameworks is null ? current.ComplianceFrameworks
                    : TenantValidation.ComplianceFrameworks(valid.ComplianceFrameworks),
                DataResidency = valid.DataResidency is null ? current.DataResidency : TenantValidation.DataResidency(valid.DataResidency),
                UpdatedAt = time.GetUtcNow(),
            };
            return await WriteAsync(connection, transaction, updated);
        }, replay: () => Task.FromResult<object?>(Tenant.ToView()), afterCommit: credentials.ForgetAllAsync);
    }

    /// <inheritdoc />
    public Task<TenantView> SuspendAsync(string reason) => ChangeStatusAsync("suspend", from: "active", to: "suspended", reason);

    /// <inheritdoc />
    public Task<TenantView> ReactivateAsync() => ChangeStatusAsync("reactivate", from: "suspended", to: "active", reason: null);

    private async Task<TenantView> ChangeStatusAsync(string action, string from, string to, string? reason)
    {
        var audit = new AuditEvent("tenant_management", "tenant", Key, action, Details: new { reason });
        var caller = await AuthorizeAsync(Permissions.TenantsSuspend, audit);
        return await ChangeAsync<TenantView>(caller, audit, async (connection, transaction) =>
        {
            var current = Tenant;
            if (action == "suspend" && (string.IsNullOrWhiteSpace(reason) || reason.Length > 1000 || reason.Any(char.IsControl)))
            {
                throw PhantomException.Invalid("A suspension needs a reason of 1-1000 characters without control characters.", "reason");
            }

            if (current.Status != from)
            {
                throw PhantomException.Conflict($"Tenant '{Key}' is {current.Status}; only a tenant that is {from} can {action}.");
            }

            return await WriteAsync(connection, transaction, current with { Status = to, UpdatedAt = time.GetUtcNow() });
        }, replay: () => Task.FromResult<object?>(Tenant.ToView()), afterCommit: credentials.ForgetAllAsync);
    }

    /// <summary>Writes the tenants row in a queued change; the activation holds it from then on (until its batch fails).</summary>
    private async Task<object?> WriteAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, TenantRecord updated)
    {
        await TenantSql.CheckAuditRetentionAsync(connection, transaction, updated);
        await tenantSql.UpdateAsync(connection, transaction, updated);
        _tenant = updated;
        return updated.ToView();
    }

    /// <inheritdoc />
    public Task CommitChangesAsync() => _changes.DrainAsync(changes, discard: () => _tenant = null);

    /// <summary>
    /// Queues an authorized change (see <see cref="AuditedChangeQueue"/>): it runs in the drain, in arrival order, seeing
    /// every change queued before it, so it reads the tenant there and not before. <paramref name="afterCommit"/> runs
    /// once per batch before anyone is answered: a change that narrows rights answers only once every silo forgot them.
    /// </summary>
    private Task<T> ChangeAsync<T>(Caller caller, AuditEvent audit, Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task<object?>> change,
        Func<Task<object?>>? replay, Func<Task>? afterCommit = null) =>
        _changes.SubmitAsync<T>(new AuditedChange(caller, Tenant.Id, audit, change, replay, AfterCommit: afterCommit),
            () => this.AsReference<ITenantGrain>().CommitChangesAsync());

    /// <inheritdoc />
    public async Task<IReadOnlyList<QuotaUsage>> GetQuotaUsageAsync()
    {
        await AuthorizeAsync(Permissions.QuotasRead, Read("quota", "*"));
        var now = time.GetUtcNow();
        var usage = await database.InTenantAsync(Tenant.Id, (connection, transaction) => tenantSql.ReadUsageAsync(connection, transaction, now));
        return Tenant.EffectiveQuotas
            .OrderBy(q => q.Key, StringComparer.Ordinal)
            .Select(q =>
            {
                var (start, end) = Quotas.PeriodOf(q.Key, now);
                var definition = Quotas.ByName[q.Key];
                return new QuotaUsage(q.Key, q.Value, usage[q.Key], start, end, definition.Kind.ToString().ToLowerInvariant(), definition.Bounds);
            })
            .ToList();
    }

    /// <summary>Whether this caller's request created the tenant already (a retry after a lost answer).</summary>
    private Task<bool> WasAppliedAsync(Guid tenantId, Caller caller) => auditSql.WasRecordedAsync(tenantId, caller.UserId, caller.Client.RequestId);

    private static AuditEvent Read(string resourceType, string resourceId) => new("data_access", resourceType, Truncate(resourceId), "read");

    private static string Truncate(string? value) => value is null ? "" : value.Length <= 255 ? value : value[..255];
}
