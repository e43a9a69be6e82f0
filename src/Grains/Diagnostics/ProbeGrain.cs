using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Diagnostics;

/// <summary>
/// See <see cref="IProbeGrain"/>. State lives in the default (PostgreSQL) grain storage. Probes hold no
/// tenant data, but they are the cluster's, so only callers with cluster:operate (platform admins) use them,
/// and every touch is audited in the platform's own tenant.
/// </summary>
public sealed class ProbeGrain(
    [PersistentState("probe")] IPersistentState<ProbeState> state,
    ILocalSiloDetails siloDetails,
    AccessGuard guard,
    AuditSql auditSql) : Grain, IProbeGrain
{
    private readonly DateTimeOffset _activatedAt = DateTimeOffset.UtcNow;

    /// <inheritdoc />
    public async Task<ProbeReading> TouchAsync()
    {
        var audit = Audit("touch");
        var caller = await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, audit);
        state.State.Count++;
        await state.WriteStateAsync();
        // Grain storage and the audit log are two writes: the row follows the committed state, and a crash
        // between them loses at most this diagnostic row (no tenant data is involved).
        await auditSql.RecordAloneAsync(PlatformTenant.Id, caller.UserId, caller.Client,
            audit with { Details = new { count = state.State.Count } });
        PhantomInstruments.ProbeTouches.Add(1);
        return Reading();
    }

    /// <inheritdoc />
    public async Task<ProbeReading> ReadAsync()
    {
        await guard.AuthorizePlatformAsync(Permissions.ClusterOperate, Audit("read"));
        return Reading();
    }

    private AuditEvent Audit(string action) => new("system", "probe", this.GetPrimaryKeyString(), action);

    private ProbeReading Reading() =>
        new(this.GetPrimaryKeyString(), state.State.Count, siloDetails.SiloAddress.ToParsableString(), _activatedAt);
}
