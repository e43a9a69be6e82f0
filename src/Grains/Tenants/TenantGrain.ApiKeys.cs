using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>Users' API keys: issued (the secret shown once), listed without secrets, revoked at once on every silo.</summary>
public sealed partial class TenantGrain
{
    /// <inheritdoc />
    public async Task<IssuedApiKey> CreateApiKeyAsync(string userId, CreateApiKey command)
    {
        var audit = new AuditEvent("user_management", "api-key", Truncate(userId), "create-api-key",
            Details: new { command?.Name, command?.ExpiresAt });
        var caller = await AuthorizeAsync(Permissions.ApiKeysOwn, audit);
        var tenantId = Tenant.Id;
        var user = await FindUserAsync(tenantId, userId);
        await RequireOwnOrManageAsync(caller, user, audit);

        var (secret, prefix, hash) = ApiKeySecret.Generate();
        var key = await ChangeAsync<ApiKeyView>(caller, audit, async (connection, transaction) =>
        {
            var name = TenantValidation.KeyName(command?.Name);
            if (PlausibleTime.Check(command?.ExpiresAt, "expiresAt") is { } expires && expires <= time.GetUtcNow())
            {
                throw PhantomException.Invalid("expiresAt must be in the future.", "expiresAt");
            }

            // As it is now: a change queued before this one may have disabled the user.
            var status = (await tenantSql.ListUsersAsync(connection, transaction, user.UserId)).Single().Status;
            if (status != "active")
            {
                throw PhantomException.Conflict($"User '{user.UserId}' is {status}; keys are issued to active users only.");
            }

            return await tenantSql.InsertKeyAsync(connection, transaction, tenantId, user, name, prefix, hash, command?.ExpiresAt, caller.UserId);
        }, replay: () => throw PhantomException.Conflict("This request was applied before; its key was shown then and cannot be shown again."));
        return new IssuedApiKey(key, secret);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApiKeyView>> ListApiKeysAsync(string userId)
    {
        var audit = Read("api-key", userId);
        var caller = await AuthorizeAsync(Permissions.ApiKeysOwn, audit);
        var user = await FindUserAsync(Tenant.Id, userId);
        await RequireOwnOrManageAsync(caller, user, audit);
        return await database.InTenantAsync(Tenant.Id,
            (connection, transaction) => tenantSql.ListKeysAsync(connection, transaction, tenantUserId: user.Id));
    }

    /// <inheritdoc />
    public async Task<ApiKeyView> RevokeApiKeyAsync(Guid keyId)
    {
        var audit = new AuditEvent("user_management", "api-key", keyId.ToString(), "revoke-api-key");
        var caller = await AuthorizeAsync(Permissions.ApiKeysOwn, audit);
        var tenantId = Tenant.Id;
        var key = (await database.InTenantAsync(tenantId,
            (connection, transaction) => tenantSql.ListKeysAsync(connection, transaction, keyId: keyId)))
            .SingleOrDefault() ?? throw PhantomException.NotFound("api-key", keyId.ToString());
        if (key.UserId != caller.UserId && !caller.Can(Permissions.ApiKeysManage))
        {
            await guard.RefuseAsync(caller, audit, Permissions.ApiKeysManage);
        }

        return await ChangeAsync<ApiKeyView>(caller, audit, async (connection, transaction) =>
        {
            await tenantSql.RevokeKeyAsync(connection, transaction, keyId);
            return (await tenantSql.ListKeysAsync(connection, transaction, keyId: keyId)).Single();
        }, replay: async () => (await database.InTenantAsync(tenantId, (c, t) => tenantSql.ListKeysAsync(c, t, keyId: keyId))).Single(),
            afterCommit: credentials.ForgetAllAsync);
    }

    private async Task RequireOwnOrManageAsync(Caller caller, TenantUserView user, AuditEvent audit)
    {
        if (caller.TenantUserId != user.Id && !caller.Can(Permissions.ApiKeysManage))
        {
            await guard.RefuseAsync(caller, audit, Permissions.ApiKeysManage);
        }
    }
}
