using Microsoft.Extensions.Logging;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IModelGrain"/>. PostgreSQL (models, model_versions, model_aliases, model_lineage, model_artifacts,
/// artifact_uploads) is the state; this activation keeps the model row and its aliases in memory, read on the first
/// authorized call and reloaded after every change it commits. Nothing is read before a caller is authorized: the
/// activation itself only parses its key. Every change checks the caller, then the ETag, then commits together with its
/// audit row. Changes to the model row are group committed (<c>ModelGrain.RowChanges.cs</c>). The methods are split by
/// concern: versions, aliases and serving, lineage, artifacts.
/// </summary>
public sealed partial class ModelGrain(
    TenantDatabase database,
    ModelSql modelSql,
    LineageSql lineageSql,
    TenantSql tenantSql,
    AuditSql auditSql,
    AccessGuard guard,
    AuditedChanges changes,
    IArtifactStore artifacts,
    IModelCache cache,
    TimeProvider time,
    ILogger<ModelGrain> logger) : Grain, IModelGrain, IModelRefresh
{
    private readonly GroupCommit<RowChange, ModelView> _rowChanges = new();
    private string _tenantKey = "";
    private string _name = "";
    private Guid _tenantId;
    private bool _loaded;
    private ModelRecord? _model;
    private Dictionary<string, string> _aliases = [];
    private Dictionary<string, AliasTraffic> _traffic = [];

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _name) = GrainKeys.ParseModel(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _rowChanges.FailAll(PhantomException.Unavailable(ProblemTypes.SiloStopping, "Not applied",
            "The change was not applied: the model's grain is stopping. Send it again."));
        return Task.CompletedTask;
    }

    private ModelRecord Model => _model ?? throw PhantomException.NotFound("model", _name);

    /// <inheritdoc />
    public async Task RefreshAsync()
    {
        if (_loaded)
        {
            await cache.InvalidateAsync(_tenantId, _name);
            await ReloadAsync();
        }
    }

    /// <inheritdoc />
    public async Task<ModelView> CreateAsync(CreateModel command)
    {
        var audit = Event("create", Details: new { command?.ModelType, command?.Algorithm });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var limits = await QuotaLimitsAsync();
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var name = ModelLifecycle.Name(_name);
            if (_model is not null)
            {
                throw PhantomException.Conflict($"Model '{name}' exists already.");
            }

            var valid = command ?? throw PhantomException.Invalid("Send the model's modelType and algorithm.", "body");
            var now = time.GetUtcNow();
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.Models, 1, limits[Quotas.Models], now);
            return await modelSql.InsertAsync(connection, transaction, new ModelRecord(Guid.CreateVersion7(), _tenantId, name,
                ModelLifecycle.Word(valid.ModelType, "modelType"), ModelLifecycle.Word(valid.Algorithm, "algorithm"), "created", null,
                ModelValidation.FeatureCount(valid.FeatureCount), ModelValidation.TrainingSamples(valid.TrainingSamples),
                    ModelValidation.Tags(valid.Tags),
                ModelValidation.Metadata(valid.Metadata), now, now, caller.UserId, 1));
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync();
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> GetAsync()
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        // Readers come here on a cache miss; only this activation publishes, so what it publishes is the latest.
        await PublishAsync();
        return View();
    }

    /// <inheritdoc />
    public Task<ModelView> UpdateAsync(UpdateModel command, long? expectedETag) =>
        ChangeModelAsync("update", expectedETag, command, model =>
        {
            var valid = command ?? throw PhantomException.Invalid("Send the members to change.", "body");
            return model with
            {
                ModelType = valid.ModelType is null ? model.ModelType : ModelLifecycle.Word(valid.ModelType, "modelType"),
                Algorithm = valid.Algorithm is null ? model.Algorithm : ModelLifecycle.Word(valid.Algorithm, "algorithm"),
                FeatureCount = valid.FeatureCount is null ? model.FeatureCount : ModelValidation.FeatureCount(valid.FeatureCount),
                TrainingSamples = valid.TrainingSamples is null ? model.TrainingSamples : ModelValidation.TrainingSamples(valid.TrainingSamples),
                Tags = ModelValidation.Tags(valid.MergeTags is null ? valid.Tags ?? model.Tags
                    : (valid.Tags ?? model.Tags).Concat(valid.MergeTags).GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.Last().Value)),
                Metadata = valid.Metadata is null ? model.Metadata : ModelValidation.Metadata(valid.Metadata),
            };
        });

    /// <inheritdoc />
    public Task<ModelView> ChangeStatusAsync(string status, long expectedETag) =>
        ChangeModelAsync("change-status", expectedETag, new { status }, model =>
        {
            ModelLifecycle.RequireTransition(model.Status, status);
            return model with { Status = status };
        });

    /// <inheritdoc />
    public async Task DeleteAsync(long expectedETag)
    {
        var audit = Event("delete");
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync();
        await InvalidateCacheAsync();
        var objectKeys = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var versions = await modelSql.ListVersionsAsync(connection, transaction, model.Id);
            var keys = await modelSql.KeysOfModelAsync(connection, transaction, model.Id);
            var bytes = await modelSql.BytesOfModelAsync(connection, transaction, model.Id);
            await modelSql.DeleteAsync(connection, transaction, model.Id);
            await lineageSql.RemoveModelEdgesAsync(transaction, model.Name);
            var now = time.GetUtcNow();
            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.Models, -1, limits[Quotas.Models], now);
            if (versions.Count > 0)
            {
                await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ModelVersions, -versions.Count, limits[Quotas.ModelVersions],
                    now);
            }

            if (bytes > 0)
            {
                await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ArtifactBytes, -bytes, limits[Quotas.ArtifactBytes], now);
            }

            return keys;
        }, replay: () => Task.FromResult(new List<string>()));
        _model = null;
        _aliases = [];
        _traffic = [];
        // The rows are gone (uploads in progress with them); the objects follow. A crash here leaves objects no row points
        // to, which the orphan sweep removes.
        foreach (var objectKey in objectKeys)
        {
            await DeleteObjectQuietlyAsync(objectKey);
        }
    }

    /// <inheritdoc />
    public async Task<ModelView> RenameAsync(string newName, long expectedETag)
    {
        var audit = Event("rename", Details: new { newName = BoundedText.Shown(newName) });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        await InvalidateCacheAsync();
        var view = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            var model = Model;
            var name = ModelLifecycle.Name(newName);
            RequireETag(expectedETag);
            if (await modelSql.LoadAsync(connection, transaction, name) is not null)
            {
                throw PhantomException.Conflict($"Model '{name}' exists already.");
            }

            if (await modelSql.UnfinishedWorkAsync(connection, transaction, model) is { Count: > 0 } work)
            {
                throw PhantomException.Conflict($"Unfinished work still names model '{model.Name}' ({string.Join(", ", work)}); " +
                    "rename it once that work has ended.");
            }

            var row = await modelSql.RenameAsync(connection, transaction, model, name, expectedETag)
                ?? throw PhantomException.PreconditionFailed(model.RowVersion);
            return row.ToView(_aliases, _traffic);
        }, replay: async () => await ReadAsync(ModelLifecycle.Name(newName)) is ({ } model, var aliases, var traffic)
            ? model.ToView(aliases, traffic)
            : throw PhantomException.NotFound("model", newName));
        // This key names no model from now on. The new key's activation, if one read the name while it was free, reads
        // the model; until then it answers 404, as it would have a moment before the rename.
        _model = null;
        _aliases = [];
        _traffic = [];
        await cache.InvalidateAsync(_tenantId, view.Name);
        await GrainFactory.ModelRefresh(_tenantKey, view.Name).RefreshAsync();
        return view;
    }

    /// <summary>
    /// Authorizes the caller for this model's tenant, then reads the model once per activation: no database work happens
    /// for a caller who may not see the tenant.
    /// </summary>
    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        await EnsureLoadedAsync(access.TenantId);
        return access.Caller;
    }

    private async Task EnsureLoadedAsync(Guid tenantId)
    {
        if (!_loaded)
        {
            _tenantId = tenantId;
            await ReloadAsync();
            _loaded = true;
        }
    }

    /// <summary>A change to versions, aliases or artifacts is a change to the model: its ETag moves too.</summary>
    private async Task<ModelRecord> BumpAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, ModelRecord model) =>
        await modelSql.UpdateAsync(connection, transaction, model, model.RowVersion) ?? throw PhantomException.PreconditionFailed(model.RowVersion);

    private void RequireETag(long expected)
    {
        if (expected != Model.RowVersion)
        {
            throw PhantomException.PreconditionFailed(Model.RowVersion);
        }
    }

    /// <summary>Reads the committed state and publishes it to the shared cache.</summary>
    private async Task ReloadAsync()
    {
        (_model, _aliases, _traffic) = await ReadAsync(_name);
        await PublishAsync();
    }

    /// <summary>The model of that name with its aliases and their traffic, from the database.</summary>
    private Task<(ModelRecord? Model, Dictionary<string, string> Aliases, Dictionary<string, AliasTraffic> Traffic)> ReadAsync(string name) =>
        database.InTenantAsync(_tenantId, async (connection, transaction) =>
        {
            var model = name.Length == 0 ? null : await modelSql.LoadAsync(connection, transaction, name);
            return model is null
                ? (null, new Dictionary<string, string>(), new Dictionary<string, AliasTraffic>())
                : (model, await modelSql.ListAliasesAsync(connection, transaction, model.Id),
                    await modelSql.ListAliasTrafficAsync(connection, transaction, model.Id));
        });

    /// <summary>Publishes the committed state to the shared cache (only this activation ever writes the key).</summary>
    private Task PublishAsync() => _model is null ? Task.CompletedTask : cache.SetAsync(_model.TenantId, View());

    /// <summary>
    /// Before a change commits, the cached view goes: readers then miss and ask this grain until the new state is
    /// published, so no reader sees the old state after the change returns, even if this silo dies between the commit
    /// and the publication.
    /// </summary>
    private Task InvalidateCacheAsync() => _loaded ? cache.InvalidateAsync(_tenantId, _name) : Task.CompletedTask;

    private async Task<IReadOnlyDictionary<string, long>> QuotaLimitsAsync() =>
        (await database.InTenantAsync(_tenantId, (connection, transaction) => tenantSql.LoadAsync(connection, transaction)))?.EffectiveQuotas
        ?? throw PhantomException.NotFound("tenant", _tenantKey);

    private ModelView View() => Model.ToView(_aliases, _traffic);

    // Storing an artifact's bytes is a data modification, as through the SDK's streaming upload (ArtifactUploadGrain).
    private AuditEvent Event(string action, object? Details = null) =>
        new(action switch { "read" => "data_access", "upload-artifact" => "data_modification", _ => "model_lifecycle" }, "model", _name, action,
            AuditEvent.Success, Details);

    private async Task DeleteObjectQuietlyAsync(string objectKey)
    {
        try
        {
            await artifacts.DeleteAsync(objectKey, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogOrphan(e, objectKey);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete artifact object {ObjectKey}; the orphan sweep will")]
    private partial void LogOrphan(Exception exception, string objectKey);
}
