using PhantomMl.Grains.Common;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>A model's aliases and what they serve: moving them, their traffic split and shadow, the serving route.</summary>
public sealed partial class ModelGrain
{
    /// <inheritdoc />
    public async Task<ModelView> SetAliasAsync(string alias, string versionOrAlias, long expectedETag)
    {
        var audit = Event("set-alias", Details: new { alias, version = versionOrAlias });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var name = ModelLifecycle.Alias(alias);
            RequireETag(expectedETag);
            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            await modelSql.SetAliasAsync(connection, transaction, model, name, version.Id);
            // A promotion, by a person or an agent (created_by tells which): the alias now serves this version.
            await lineageSql.RecordAsync(transaction, (LineageKinds.Alias, LineageKinds.AliasId(model.Name, name)),
                (LineageKinds.ModelVersion, LineageKinds.VersionId(model.Name, version.Version)), "promoted", caller.UserId);
            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync();
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> SetAliasTrafficAsync(string alias, AliasTraffic traffic, long expectedETag)
    {
        var audit = Event("set-alias-traffic", Details: new { alias, traffic });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            if (traffic is null || traffic.ChallengerPercent is < 0 or > 100)
            {
                throw PhantomException.Invalid("challengerPercent is a whole number from 0 to 100.", "challengerPercent");
            }

            if (traffic.ChallengerPercent > 0 != traffic.Challenger is not null)
            {
                throw PhantomException.Invalid("A challenger needs a percentage above 0, and a percentage needs a challenger.", "challenger");
            }

            var target = alias is not null && _aliases.TryGetValue(alias, out var label) ? label : throw PhantomException.NotFound("alias",
                BoundedText.Shown(alias));
            var versions = await modelSql.ListVersionsAsync(connection, transaction, model.Id);
            Guid? Version(string? versionOrAlias, string field)
            {
                if (versionOrAlias is null)
                {
                    return null;
                }

                var version = Resolve(versions, versionOrAlias);
                return version.Version != target ? version.Id
                    : throw PhantomException.Invalid($"The {field} must be another version than the one '{alias}' points at ({target}).", field);
            }

            await modelSql.SetAliasTrafficAsync(connection, transaction, model.Id, alias, Version(traffic.Challenger, "challenger"),
                traffic.ChallengerPercent, Version(traffic.Shadow, "shadow"));
            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync();
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> RemoveAliasAsync(string alias, long expectedETag)
    {
        var audit = Event("remove-alias", Details: new { alias });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            if (alias is null || !await modelSql.RemoveAliasAsync(connection, transaction, model.Id, alias))
            {
                throw PhantomException.NotFound("alias", BoundedText.Shown(alias));
            }

            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync();
        return View();
    }

    /// <inheritdoc />
    public async Task<ServingRoute> GetServingRouteAsync(string versionOrAlias)
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        var model = Model;
        var label = versionOrAlias == "active" ? model.ActiveVersion ?? throw PhantomException.NotFound("active version of model",
            _name) : versionOrAlias;
        var alias = _aliases.ContainsKey(label) ? label : null;
        var traffic = alias is null ? null : _traffic.GetValueOrDefault(alias);
        return await database.InTenantAsync(_tenantId, async (connection, transaction) =>
        {
            var versions = await modelSql.ListVersionsAsync(connection, transaction, model.Id);
            async Task<ArtifactView?> ArtifactOf(string? version) => version is null ? null
                : await modelSql.FindAsync(connection, transaction, Resolve(versions, version).Id)
                  ?? throw PhantomException.NotFound("artifact of version", BoundedText.Shown(version));
            var primary = (await ArtifactOf(label))!;
            var challenger = traffic is { Challenger: { } c, ChallengerPercent: > 0 } ? await ArtifactOf(c) : null;
            return new ServingRoute(model.Id, primary, challenger, challenger is null ? 0 : traffic!.ChallengerPercent,
                await ArtifactOf(traffic?.Shadow), alias);
        });
    }
}
