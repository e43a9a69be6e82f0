using System.Collections.Frozen;

namespace PhantomMl.Grains.Security;

/// <summary>
/// What each role may do. Roles are fixed; a tenant user can be granted extra permissions on top of
/// its roles. The roles table of docs/security.md is this class.
/// </summary>
public static class Permissions
{
    public const string TenantsCreate = "tenants:create";
    public const string TenantsList = "tenants:list";
    public const string TenantsRead = "tenants:read";
    public const string TenantsUpdate = "tenants:update";
    public const string TenantsSuspend = "tenants:suspend";
    public const string UsersRead = "users:read";
    public const string UsersManage = "users:manage";
    public const string ApiKeysManage = "api-keys:manage";
    public const string ApiKeysOwn = "api-keys:own";
    public const string QuotasRead = "quotas:read";
    public const string AuditRead = "audit:read";
    public const string AuditManage = "audit:manage";
    public const string ClusterOperate = "cluster:operate";
    public const string ModelsRead = "models:read";
    public const string ModelsWrite = "models:write";
    public const string TrainingRead = "training:read";
    public const string TrainingRun = "training:run";
    public const string InferencePredict = "inference:predict";
    public const string AgentsRead = "agents:read";
    public const string AgentsRun = "agents:run";
    public const string AgentsApprove = "agents:approve";
    public const string AgentsManage = "agents:manage";

    public const string PlatformAdmin = "platform-admin";
    public const string TenantAdmin = "tenant-admin";
    public const string MlEngineer = "ml-engineer";
    public const string Viewer = "viewer";
    public const string Auditor = "auditor";

    /// <summary>Every permission.</summary>
    public static readonly FrozenSet<string> All = new[]
    {
        TenantsCreate, TenantsList, TenantsRead, TenantsUpdate, TenantsSuspend, UsersRead, UsersManage, ApiKeysManage, ApiKeysOwn,
        QuotasRead, AuditRead, AuditManage, ClusterOperate, ModelsRead, ModelsWrite, TrainingRead, TrainingRun, InferencePredict, AgentsRead, AgentsRun,
        AgentsApprove, AgentsManage,
    }.ToFrozenSet();

    /// <summary>Permissions that may be granted to a tenant user on top of roles (never platform-wide ones).</summary>
    public static readonly FrozenSet<string> Grantable = All.Except([TenantsCreate, TenantsList, TenantsUpdate, TenantsSuspend,
        ClusterOperate]).ToFrozenSet();

    /// <summary>The permissions of each role.</summary>
    public static readonly FrozenDictionary<string, FrozenSet<string>> ByRole = new Dictionary<string, FrozenSet<string>>
    {
        [PlatformAdmin] = All,
        [TenantAdmin] = new[]
        {
            TenantsRead, UsersRead, UsersManage, ApiKeysManage, ApiKeysOwn, QuotasRead, AuditRead, AuditManage,
            ModelsRead, ModelsWrite, TrainingRead, TrainingRun, InferencePredict, AgentsRead, AgentsRun, AgentsApprove, AgentsManage,
        }.ToFrozenSet(),
        [MlEngineer] = new[]
        {
            TenantsRead, UsersRead, ApiKeysOwn, QuotasRead, ModelsRead, ModelsWrite, TrainingRead, TrainingRun, InferencePredict, AgentsRead,
                AgentsRun,
        }.ToFrozenSet(),
        [Viewer] = new[] { TenantsRead, ApiKeysOwn, QuotasRead, ModelsRead, TrainingRead, AgentsRead }.ToFrozenSet(),
        [Auditor] = new[] { TenantsRead, UsersRead, ApiKeysOwn, QuotasRead, AuditRead, ModelsRead, TrainingRead, AgentsRead }.ToFrozenSet(),
    }.ToFrozenDictionary();

    /// <summary>Roles a tenant user can hold (platform-admin belongs to platform keys only).</summary>
    public static readonly FrozenSet<string> TenantRoles = new[] { TenantAdmin, MlEngineer, Viewer, Auditor }.ToFrozenSet();

    /// <summary>The union of the roles' permissions and the extra grants.</summary>
    public static FrozenSet<string> Effective(IEnumerable<string> roles, IEnumerable<string> grants) =>
        roles.SelectMany(role => ByRole.TryGetValue(role, out var permissions) ? permissions : FrozenSet<string>.Empty)
            .Concat(grants.Where(Grantable.Contains))
            .ToFrozenSet();
}
