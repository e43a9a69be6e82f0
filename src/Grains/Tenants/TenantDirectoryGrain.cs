using Orleans.Concurrency;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>See <see cref="ITenantDirectoryGrain"/>. Stateless: any silo answers.</summary>
[StatelessWorker]
public sealed class TenantDirectoryGrain(AccessGuard guard, CallerAuthenticator authenticator, TenantSql tenantSql) : Grain, ITenantDirectoryGrain
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<TenantView>> ListTenantsAsync(string? after, int limit)
    {
        await guard.AuthorizePlatformAsync(Permissions.TenantsList, new AuditEvent("data_access", "tenant", "*", "list"));
        if (limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        if (after is { Length: > 255 } || after?.Contains('\0') == true)
        {
            throw PhantomException.Invalid("after is a tenant key.", "after");
        }

        return await tenantSql.ListTenantsAsync(after, limit);
    }

    /// <inheritdoc />
    public async Task<CallerView> WhoAmIAsync()
    {
        var caller = await authenticator.AuthenticateAsync();
        if (!caller.TenantActive)
        {
            // A suspended tenant's keys are refused everywhere, this included (403, as on its resources).
            throw PhantomException.TenantSuspended(caller.TenantKey ?? "");
        }

        return new CallerView(caller.UserId, caller.TenantKey, caller.Roles.Order().ToList(), caller.Permissions.Order().ToList(), caller.KeyId);
    }
}
