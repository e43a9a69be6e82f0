using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The one place that decides whether a caller may do something to a tenant's resource. Another tenant's
/// resources answer 404, exactly like missing ones, so ids of other tenants cannot even be probed; a refusal
/// inside the caller's own tenant answers 403. Both leave a denied audit row in the caller's tenant.
/// </summary>
public sealed class AccessGuard(CallerAuthenticator authenticator, TenantDatabase database)
{
    /// <summary>Authenticates the current call and checks <paramref name="permission"/> on the tenant <paramref name="tenantId"/>.</summary>
    /// <param name="tenantId">The tenant that owns the resource; null when it does not exist (answered like another tenant's).</param>
    /// <param name="tenantKey">The tenant key the caller addressed.</param>
    /// <param name="permission">The permission the operation needs.</param>
    /// <param name="audit">What the caller tried, recorded when refused.</param>
    public async Task<Caller> AuthorizeAsync(Guid? tenantId, string tenantKey, string permission, AuditEvent audit)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.IsPlatformAdmin)
        {
            return caller;
        }

        if (tenantId is null || caller.TenantId != tenantId)
        {
            await DenyAsync(caller, audit, new { reason = "not-found-or-other-tenant", tenant = tenantKey, permission });
            throw PhantomException.NotFound(audit.ResourceType, audit.ResourceId);
        }

        if (!caller.TenantActive)
        {
            await DenyAsync(caller, audit, new { reason = "tenant-suspended", permission });
            throw PhantomException.TenantSuspended(tenantKey);
        }

        if (!caller.Can(permission))
        {
            await RefuseAsync(caller, audit, permission);
        }

        return caller;
    }

    /// <summary>Audits the refusal of <paramref name="permission"/> and throws 403.</summary>
    public async Task RefuseAsync(Caller caller, AuditEvent audit, string permission)
    {
        await DenyAsync(caller, audit, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the permission '{permission}', which your roles do not grant.", permission);
    }

    /// <summary>Authenticates the current call and checks a platform-wide permission (no tenant involved).</summary>
    public async Task<Caller> AuthorizePlatformAsync(string permission, AuditEvent audit)
    {
        var caller = await authenticator.AuthenticateAsync();
        if (caller.Can(permission) && caller.IsPlatformAdmin)
        {
            return caller;
        }

        await DenyAsync(caller, audit, new { reason = "missing-permission", permission });
        throw PhantomException.Forbidden($"This operation needs the platform permission '{permission}'.", permission);
    }

    private Task DenyAsync(Caller caller, AuditEvent audit, object details) =>
        AuditRecorder.RecordAloneAsync(database, caller.TenantId ?? CallerAuthenticator.PlatformTenantId, caller.UserId, caller.Client,
            audit.As(AuditEvent.Denied, details));
}
