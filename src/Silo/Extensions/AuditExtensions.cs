using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Audit area: the append-only trail every change and every refused attempt writes to.</summary>
public static class AuditExtensions
{
    /// <summary>Registers the trail's SQL, audited changes, and the trail as where access control records its refusals.</summary>
    public static WebApplicationBuilder AddPhantomAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AuditSql>();
        builder.Services.AddSingleton<AuditedChanges>();
        builder.Services.AddSingleton<IAccessAudit, AccessAuditTrail>();
        return builder;
    }
}
