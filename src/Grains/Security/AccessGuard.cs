namespace PhantomMl.Grains.Security;

/// <summary>
/// The one place that decides whether a caller may do something to a tenant's resource, before any work on it. Another
/// tenant's resources answer 404, exactly like missing ones, so ids of other tenants cannot even be probed; a refusal
/// inside the caller's own tenant answers 403. Both leave a denied audit row in the caller's tenant. A tenant user's
/// tenant is known from their key, so telling "mine" from "not mine" costs no database work; only a platform admin's
/// call resolves the addressed tenant key.
/// </summary>
public sealed class AccessGuard(CallerAuthenticator authenticator, TenantResolver tenants, IAccessAudit audit)
{
    /// <summary>
    /// Authenticates the current call and checks <paramref name="permission"/> on the tenant addressed by
    /// <paramref name="tenantKey"/>; returns the caller and the tenant's id.
    /// </summary>
    /// <param name="tenantKey">The tenant key the caller addressed.</param>
    /// <param name="permission">The permission the operation needs.</param>
    /// <param name="attempt">What the caller tried, recorded when refused.</param>
    public async Task<TenantAccess> AuthorizeAsync(string tenantKey, string permission, IAuditedAttempt attempt)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.IsPlatformAdmin)
        {
            return new TenantAccess(caller, await tenants.ResolveAsync(tenantKey) ?? throw PhantomException.NotFound("tenant", tenantKey));
        }

        if (caller.TenantId is not { } tenantId || caller.TenantKey != tenantKey)
        {
            await DenyAsync(caller, attempt, new { reason = "not-found-or-other-tenant", tenant = BoundedTenantKey(tenantKey), permission });
            throw PhantomException.NotFound(attempt.ResourceType, attempt.ResourceId);
        }

        await RequireActiveAsync(caller, tenantKey, permission, attempt);
        return new TenantAccess(caller, tenantId);
    }

    /// <summary>
    /// Authenticates the current call and checks <paramref name="permission"/> on the tenant <paramref name="tenantId"/>,
    /// for resources found by id rather than by tenant key (null: no such tenant, answered like another tenant's).
    /// </summary>
    public async Task<Caller> AuthorizeAsync(Guid? tenantId, string permission, IAuditedAttempt attempt)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.IsPlatformAdmin && tenantId is not null)
        {
            return caller;
        }

        if (tenantId is null || caller.TenantId != tenantId)
        {
            await DenyAsync(caller, attempt, new { reason = "not-found-or-other-tenant", permission });
            throw PhantomException.NotFound(attempt.ResourceType, attempt.ResourceId);
        }

        await RequireActiveAsync(caller, caller.TenantKey ?? "", permission, attempt);
        return caller;
    }

    /// <summary>Audits the refusal of <paramref name="permission"/> and throws 403.</summary>
    public async Task RefuseAsync(Caller caller, IAuditedAttempt attempt, string permission)
    {
        await DenyAsync(caller, attempt, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the permission '{permission}', which your roles do not grant.", permission);
    }

    /// <summary>Authenticates the current call and checks a platform-wide permission (no tenant involved).</summary>
    public async Task<Caller> AuthorizePlatformAsync(string permission, IAuditedAttempt attempt)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.Can(permission) && caller.IsPlatformAdmin)
        {
            return caller;
        }

        await DenyAsync(caller, attempt, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the platform permission '{permission}'.", permission);
    }

    private async Task RequireActiveAsync(Caller caller, string tenantKey, string permission, IAuditedAttempt attempt)
    {
        if (!caller.TenantActive)
        {
            await DenyAsync(caller, attempt, new { reason = "tenant-suspended", permission });
            throw PhantomException.TenantSuspended(tenantKey);
        }

        if (!caller.Can(permission))
        {
            await RefuseAsync(caller, attempt, permission);
        }
    }

    private static string BoundedTenantKey(string tenantKey) => tenantKey.Length <= 64 ? tenantKey : tenantKey[..64];

    private Task DenyAsync(Caller caller, IAuditedAttempt attempt, object details) => audit.RecordRefusalAsync(caller, attempt, details);
}

/// <summary>An authorized call on a tenant: who calls, and the tenant's id.</summary>
public readonly record struct TenantAccess(Caller Caller, Guid TenantId);
