using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>The tenant's users: added, changed, listed (the users quota counts them).</summary>
public sealed partial class TenantGrain
{
    /// <inheritdoc />
    public async Task<TenantUserView> AddUserAsync(AddTenantUser command)
    {
        var audit = new AuditEvent("user_management", "tenant-user", Truncate(command?.UserId), "add-user",
            Details: new { command?.Roles, command?.Permissions });
        var caller = await AuthorizeAsync(Permissions.UsersManage, audit);
        return await ChangeAsync<TenantUserView>(caller, audit, async (connection, transaction) =>
        {
            var tenant = Tenant;
            var valid = command ?? throw PhantomException.Invalid("Send the user.", "body");
            var userId = TenantValidation.UserId(valid.UserId);
            var email = TenantValidation.Email(valid.Email);
            var roles = TenantValidation.Roles(valid.Roles);
            var grants = TenantValidation.Grants(valid.Permissions);
            await tenantSql.ConsumeAsync(connection, transaction, tenant.Id, Quotas.Users, 1, tenant.EffectiveQuotas[Quotas.Users], time.GetUtcNow());
            return await tenantSql.InsertUserAsync(connection, transaction, tenant.Id, userId, email, roles, grants, valid.MfaEnabled);
        }, replay: async () => await FindUserAsync(Tenant.Id, command!.UserId));
    }

    /// <inheritdoc />
    public async Task<TenantUserView> UpdateUserAsync(string userId, UpdateTenantUser command)
    {
        var audit = new AuditEvent("user_management", "tenant-user", Truncate(userId), "update-user", Details: command);
        var caller = await AuthorizeAsync(Permissions.UsersManage, audit);
        return await ChangeAsync<TenantUserView>(caller, audit, async (connection, transaction) =>
        {
            var valid = command ?? throw PhantomException.Invalid("Send the members to change.", "body");
            return await tenantSql.UpdateUserAsync(connection, transaction, TenantValidation.UserId(userId),
                valid.Email is null ? null : TenantValidation.Email(valid.Email),
                valid.Roles is null ? null : TenantValidation.Roles(valid.Roles),
                valid.Permissions is null ? null : TenantValidation.Grants(valid.Permissions),
                valid.Status is null ? null : TenantValidation.UserStatus(valid.Status),
                valid.MfaEnabled)
                ?? throw PhantomException.NotFound("tenant-user", userId);
        }, replay: async () => await FindUserAsync(Tenant.Id, userId), afterCommit: credentials.ForgetAllAsync);
    }

    /// <inheritdoc />
    public async Task<TenantUserView> GetUserAsync(string userId)
    {
        await AuthorizeAsync(Permissions.UsersRead, Read("tenant-user", userId));
        return await FindUserAsync(Tenant.Id, userId);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TenantUserView>> ListUsersAsync()
    {
        await AuthorizeAsync(Permissions.UsersRead, Read("tenant-user", "*"));
        return await database.InTenantAsync(Tenant.Id, (connection, transaction) => tenantSql.ListUsersAsync(connection, transaction));
    }

    private async Task<TenantUserView> FindUserAsync(Guid tenantId, string? userId) =>
        (TenantValidation.IsUserId(userId)
            ? (await database.InTenantAsync(tenantId,
                (connection, transaction) => tenantSql.ListUsersAsync(connection, transaction, userId))).SingleOrDefault()
            : null)
        ?? throw PhantomException.NotFound("tenant-user", BoundedText.Shown(userId));
}
