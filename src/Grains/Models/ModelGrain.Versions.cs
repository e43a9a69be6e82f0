using Npgsql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Models;

/// <summary>A model's versions: registering, deleting, reading, activating and archiving them.</summary>
public sealed partial class ModelGrain
{
    /// <inheritdoc />
    public async Task<ModelVersionView> RegisterVersionAsync(RegisterVersion command)
    {
        var audit = Event("register-version", Details: new { command?.Version, command?.ParentVersion });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync();
        await InvalidateCacheAsync();
        var registered = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var valid = command ?? throw PhantomException.Invalid("Send the version.", "body");
            var label = ModelLifecycle.Label(valid.Version, "version");
            var changelog = ModelValidation.FreeText(valid.Changelog, 10_000, "changelog");
            var source = ModelValidation.FreeText(valid.Source, 1_000, "source");
            var metrics = ModelValidation.Metrics(valid);
            var versions = await modelSql.ListVersionsAsync(connection, transaction, model.Id);
            ModelVersionView? parent = null;
            if (valid.ParentVersion is { } parentLabel)
            {
                parent = versions.SingleOrDefault(v => v.Version == parentLabel)
                    ?? throw PhantomException.Invalid($"parentVersion '{BoundedText.Shown(parentLabel)}' is not a version of this model.",
                        "parentVersion");
            }

            if (valid.TrainingJobId is { } jobId && !await lineageSql.TrainingJobExistsAsync(transaction, jobId))
            {
                throw PhantomException.Invalid($"trainingJobId {jobId} is not a training job of this tenant.", "trainingJobId");
            }

            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ModelVersions, 1, limits[Quotas.ModelVersions], time.GetUtcNow());
            var version = await modelSql.InsertVersionAsync(connection, transaction, model, valid with { Version = label, Changelog = changelog, Source = source },
                ModelValidation.Delta(metrics, parent), caller.UserId);
            var node = (LineageKinds.ModelVersion, LineageKinds.VersionId(model.Name, label));
            if (valid.TrainingJobId is { } trainedBy)
            {
                await lineageSql.RecordAsync(transaction, node, (LineageKinds.TrainingJob, trainedBy.ToString("D")), "trained", caller.UserId);
            }

            if (parent is not null)
            {
                await lineageSql.RecordAsync(transaction, node, (LineageKinds.ModelVersion, LineageKinds.VersionId(model.Name, parent.Version)),
                    "new-version", caller.UserId);
            }

            await BumpAsync(connection, transaction, model);
            return version;
        }, replay: async () => await GetVersionInternalAsync(command!.Version));
        await ReloadAsync();
        return registered;
    }

    /// <inheritdoc />
    public async Task<ModelView> DeleteVersionAsync(string versionOrAlias, long expectedETag)
    {
        var audit = Event("delete-version", Details: new { version = versionOrAlias });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync();
        await InvalidateCacheAsync();
        var objectKey = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            if (version.IsActive)
            {
                throw PhantomException.Conflict($"Version '{version.Version}' is active; activate another version first.");
            }

            var artifact = await modelSql.FindAsync(connection, transaction, version.Id);
            await modelSql.DeleteVersionAsync(connection, transaction, version.Id);
            var now = time.GetUtcNow();
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ModelVersions, -1, limits[Quotas.ModelVersions], now);
            if (artifact is not null)
            {
                await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ArtifactBytes, -artifact.SizeBytes,
                    limits[Quotas.ArtifactBytes], now);
            }

            await BumpAsync(connection, transaction, model);
            return artifact?.StoragePath;
        }, replay: () => Task.FromResult<string?>(null));
        await ReloadAsync();
        // The rows are gone; the object follows. A crash here leaves an object no row points to, which the orphan sweep removes.
        if (objectKey is not null)
        {
            await DeleteObjectQuietlyAsync(objectKey);
        }

        return View();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelVersionView>> ListVersionsAsync()
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        var model = Model;
        return await database.InTenantAsync(_tenantId, (connection, transaction) => modelSql.ListVersionsAsync(connection, transaction, model.Id));
    }

    /// <inheritdoc />
    public async Task<ModelVersionView> GetVersionAsync(string versionOrAlias)
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        return await GetVersionInternalAsync(versionOrAlias);
    }

    /// <inheritdoc />
    public Task<ModelView> ActivateVersionAsync(string versionOrAlias, long expectedETag) =>
        ChangeVersionAsync(Event("activate-version", Details: new { version = versionOrAlias }), versionOrAlias, expectedETag,
            async (connection, transaction, caller, model, version) =>
            {
                await modelSql.ActivateAsync(connection, transaction, model.Id, version.Id);
                await lineageSql.RecordAsync(transaction, (LineageKinds.Model, model.Name),
                    (LineageKinds.ModelVersion, LineageKinds.VersionId(model.Name, version.Version)), "activated", caller.UserId);
                return await modelSql.UpdateAsync(connection, transaction, model, expectedETag, version.Version, setActive: true)
                    ?? throw PhantomException.PreconditionFailed(model.RowVersion);
            });

    /// <inheritdoc />
    public Task<ModelView> ArchiveVersionAsync(string versionOrAlias, bool archived, long expectedETag) =>
        ChangeVersionAsync(Event(archived ? "archive-version" : "restore-version", Details: new { version = versionOrAlias }), versionOrAlias,
            expectedETag, async (connection, transaction, _, model, version) =>
            {
                if (archived && version.IsActive)
                {
                    throw PhantomException.Conflict($"Version '{version.Version}' is the one the model serves; activate another version first.");
                }

                await modelSql.SetArchivedAsync(connection, transaction, version.Id, archived);
                return await BumpAsync(connection, transaction, model);
            });

    /// <summary>
    /// A change to one version (label or alias) that moves the model's ETag: authorized, checked against the ETag,
    /// committed with its audit row, and answered with the model as it is after.
    /// </summary>
    private async Task<ModelView> ChangeVersionAsync(AuditEvent audit, string versionOrAlias, long expectedETag,
        Func<NpgsqlConnection, NpgsqlTransaction, Caller, ModelRecord, ModelVersionView, Task<ModelRecord>> change)
    {
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            return await change(connection, transaction, caller, model, version);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync();
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelVersionView> UpdateVersionAsync(string versionOrAlias, string? changelog, IReadOnlyDictionary<string, string>? setTags,
        IReadOnlyList<string>? deleteTags)
    {
        var audit = Event("update-version", Details: new { version = versionOrAlias, setTags = setTags?.Keys, deleteTags });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var validChangelog = ModelValidation.FreeText(changelog, 10_000, "changelog");
        var set = ModelValidation.Tags(setTags ?? new Dictionary<string, string>());
        await InvalidateCacheAsync();
        var updated = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            var tags = new Dictionary<string, string>(version.Tags ?? new Dictionary<string, string>());
            foreach (var (key, value) in set)
            {
                tags[key] = value;
            }

            foreach (var key in deleteTags ?? [])
            {
                if (!tags.Remove(key))
                {
                    throw PhantomException.NotFound("tag", key);
                }
            }

            return await modelSql.UpdateVersionAsync(connection, transaction, version.Id, validChangelog, ModelValidation.Tags(tags));
        }, replay: async () => await GetVersionInternalAsync(versionOrAlias));
        await ReloadAsync();
        return updated;
    }

    private async Task<ModelVersionView> GetVersionInternalAsync(string versionOrAlias)
    {
        var model = Model;
        return Resolve(await database.InTenantAsync(_tenantId,
            (connection, transaction) => modelSql.ListVersionsAsync(connection, transaction, model.Id)), versionOrAlias);
    }

    /// <summary>The version a label or alias names; 404 when there is none.</summary>
    private ModelVersionView Resolve(IReadOnlyList<ModelVersionView> versions, string? versionOrAlias)
    {
        var requested = versionOrAlias ?? "";
        var label = _aliases.TryGetValue(requested, out var target) ? target : requested;
        return versions.SingleOrDefault(v => v.Version == label) ?? throw PhantomException.NotFound("model version", BoundedText.Shown(requested));
    }
}
