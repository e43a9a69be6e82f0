using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Apis;

/// <summary>Operator endpoints that touch no tenant's data (cluster, maintenance) are for platform admins only.</summary>
public static class PlatformAdminFilter
{
    /// <summary>Refuses callers without the cluster:operate permission (403, audited).</summary>
    public static RouteGroupBuilder RequireClusterOperator(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var guard = context.HttpContext.RequestServices.GetRequiredService<AccessGuard>();
            await guard.AuthorizePlatformAsync(Permissions.ClusterOperate,
                new AuditEvent("system", "cluster", context.HttpContext.Request.Path, context.HttpContext.Request.Method));
            return await next(context);
        });
}
