using System.Text.Json;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Models;

/// <summary>
/// See <see cref="IModelGrain"/>. PostgreSQL (models, model_versions, model_aliases, model_lineage) is the state;
/// this activation keeps the model row and its aliases in memory, reloaded after every change it commits.
/// Every change checks the caller, then the ETag, then commits together with its audit row.
/// </summary>
public sealed partial class ModelGrain(TenantDatabase database, AccessGuard guard, AuditedChanges changes, IArtifactStore artifacts, IModelCache cache, TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<ModelGrain> logger) : Grain, IModelGrain
{
    private const int MaxMetadataChars = 64 * 1024;
    private string _tenantKey = "";
    private string _name = "";
    private Guid? _tenantId;
    private ModelRecord? _model;
    private Dictionary<string, string> _aliases = [];
    private Dictionary<string, AliasTraffic> _traffic = [];

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        (_tenantKey, _name) = slash < 0 ? (key, "") : (key[..slash], key[(slash + 1)..]);
        if (!TenantValidation.IsTenantKey(_tenantKey))
        {
            return;
        }

        _tenantId = await TenantStore.ResolveAsync(database, _tenantKey, cancellationToken);
        if (_tenantId is { } tenantId)
        {
            await ReloadAsync(tenantId);
        }
    }

    private ModelRecord Model => _model ?? throw PhantomException.NotFound("model", _name);

    /// <inheritdoc />
    public async Task<ModelView> CreateAsync(CreateModel command)
    {
        var audit = Event("create", Details: new { command.ModelType, command.Algorithm });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var tenantId = _tenantId ?? throw PhantomException.NotFound("tenant", _tenantKey);
        var limits = await QuotaLimitsAsync(tenantId);
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, tenantId, audit, async (connection, transaction) =>
        {
            var name = ModelLifecycle.Name(_name);
            if (_model is not null)
            {
                throw PhantomException.Conflict($"Model '{name}' exists already.");
            }

            var now = time.GetUtcNow();
            await TenantStore.ConsumeAsync(connection, transaction, tenantId, Quotas.Models, 1, limits[Quotas.Models], now);
            return await ModelStore.InsertAsync(connection, transaction, new ModelRecord(Guid.CreateVersion7(), tenantId, name,
                ModelLifecycle.Word(command.ModelType, "modelType"), ModelLifecycle.Word(command.Algorithm, "algorithm"), "created", null,
                FeatureCount(command.FeatureCount), TrainingSamples(command.TrainingSamples), Tags(command.Tags), Metadata(command.Metadata),
                now, now, caller.UserId, 1));
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync(tenantId);
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> GetAsync()
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        // Readers come here on a cache miss; only this activation publishes, so what it publishes is the latest.
        await PublishAsync();
        return View();
    }

    /// <inheritdoc />
    public Task<ModelView> UpdateAsync(UpdateModel command, long? expectedETag) =>
        ChangeModelAsync("update", expectedETag, command, model => model with
        {
            ModelType = command.ModelType is null ? model.ModelType : ModelLifecycle.Word(command.ModelType, "modelType"),
            Algorithm = command.Algorithm is null ? model.Algorithm : ModelLifecycle.Word(command.Algorithm, "algorithm"),
            FeatureCount = command.FeatureCount is null ? model.FeatureCount : FeatureCount(command.FeatureCount),
            TrainingSamples = command.TrainingSamples is null ? model.TrainingSamples : TrainingSamples(command.TrainingSamples),
            Tags = Tags(command.MergeTags is null ? command.Tags ?? model.Tags
                : (command.Tags ?? model.Tags).Concat(command.MergeTags).GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.Last().Value)),
            Metadata = command.Metadata is null ? model.Metadata : Metadata(command.Metadata),
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
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync(model.TenantId);
        await InvalidateCacheAsync();
        var objectKeys = await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var versions = await ModelStore.ListVersionsAsync(connection, transaction, model.Id);
            var keys = await ArtifactRecords.KeysOfModelAsync(connection, transaction, model.Id);
            var bytes = await ArtifactRecords.BytesOfModelAsync(connection, transaction, model.Id);
            await ModelStore.DeleteAsync(connection, transaction, model.Id);
            var now = time.GetUtcNow();
            await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.Models, -1, limits[Quotas.Models], now);
            if (versions.Count > 0)
            {
                await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ModelVersions, -versions.Count, limits[Quotas.ModelVersions], now);
            }

            if (bytes > 0)
            {
                await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ArtifactBytes, -bytes, limits[Quotas.ArtifactBytes], now);
            }

            return keys;
        }, replay: () => Task.FromResult(new List<string>()));
        _model = null;
        _aliases = [];
        // The rows are gone; the objects follow. A crash here leaves objects no row points to (see README).
        foreach (var objectKey in objectKeys)
        {
            await DeleteObjectQuietlyAsync(objectKey);
        }
    }

    /// <inheritdoc />
    public async Task<ModelVersionView> RegisterVersionAsync(RegisterVersion command)
    {
        var audit = Event("register-version", Details: new { command.Version, command.ParentVersion });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync(model.TenantId);
        await InvalidateCacheAsync();
        var registered = await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            var label = ModelLifecycle.Label(command.Version, "version");
            if (command.Changelog is { Length: > 10_000 })
            {
                throw PhantomException.Invalid("changelog is at most 10,000 characters.", "changelog");
            }

            var metrics = Metrics(command);
            var versions = await ModelStore.ListVersionsAsync(connection, transaction, model.Id);
            ModelVersionView? parent = null;
            if (command.ParentVersion is { } parentLabel)
            {
                parent = versions.SingleOrDefault(v => v.Version == parentLabel)
                    ?? throw PhantomException.Invalid($"parentVersion '{parentLabel}' is not a version of this model.", "parentVersion");
            }

            await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ModelVersions, 1, limits[Quotas.ModelVersions], time.GetUtcNow());
            var version = await ModelStore.InsertVersionAsync(connection, transaction, model, command with { Version = label }, Delta(metrics, parent), caller.UserId);
            await BumpAsync(connection, transaction, model);
            return version;
        }, replay: async () => await GetVersionInternalAsync(command.Version));
        await ReloadAsync(model.TenantId);
        return registered;
    }

    /// <inheritdoc />
    public async Task<ModelView> DeleteVersionAsync(string versionOrAlias, long expectedETag)
    {
        var audit = Event("delete-version", Details: new { version = versionOrAlias });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync(model.TenantId);
        await InvalidateCacheAsync();
        var objectKey = await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var version = Resolve(await ModelStore.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            if (version.IsActive)
            {
                throw PhantomException.Conflict($"Version '{version.Version}' is active; activate another version first.");
            }

            var artifact = await ArtifactRecords.FindAsync(connection, transaction, version.Id);
            await ModelStore.DeleteVersionAsync(connection, transaction, version.Id);
            var now = time.GetUtcNow();
            await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ModelVersions, -1, limits[Quotas.ModelVersions], now);
            if (artifact is not null)
            {
                await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ArtifactBytes, -artifact.SizeBytes, limits[Quotas.ArtifactBytes], now);
            }

            await BumpAsync(connection, transaction, model);
            return artifact?.StoragePath;
        }, replay: () => Task.FromResult<string?>(null));
        await ReloadAsync(model.TenantId);
        // The rows are gone; the object follows. A crash here leaves an object no row points to (see README).
        if (objectKey is not null)
        {
            await DeleteObjectQuietlyAsync(objectKey);
        }

        return View();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelVersionView>> ListVersionsAsync()
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        return await database.InTenantAsync(Model.TenantId, (connection, transaction) => ModelStore.ListVersionsAsync(connection, transaction, Model.Id));
    }

    /// <inheritdoc />
    public async Task<ModelVersionView> GetVersionAsync(string versionOrAlias)
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        return await GetVersionInternalAsync(versionOrAlias);
    }

    /// <inheritdoc />
    public async Task<ModelView> ActivateVersionAsync(string versionOrAlias, long expectedETag)
    {
        var audit = Event("activate-version", Details: new { version = versionOrAlias });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            var version = Resolve(await ModelStore.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            await ModelStore.ActivateAsync(connection, transaction, model.Id, version.Id);
            return await ModelStore.UpdateAsync(connection, transaction, model, expectedETag, version.Version, setActive: true)
                ?? throw PhantomException.PreconditionFailed(model.RowVersion);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync(model.TenantId);
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> SetAliasAsync(string alias, string versionOrAlias, long expectedETag)
    {
        var audit = Event("set-alias", Details: new { alias, version = versionOrAlias });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            var name = ModelLifecycle.Alias(alias);
            RequireETag(expectedETag);
            var version = Resolve(await ModelStore.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            await ModelStore.SetAliasAsync(connection, transaction, model, name, version.Id);
            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync(model.TenantId);
        return View();
    }

    /// <inheritdoc />
    public async Task<ModelView> SetAliasTrafficAsync(string alias, AliasTraffic traffic, long expectedETag)
    {
        var audit = Event("set-alias-traffic", Details: new { alias, traffic });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
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

            var target = _aliases.TryGetValue(alias, out var label) ? label : throw PhantomException.NotFound("alias", alias);
            var versions = await ModelStore.ListVersionsAsync(connection, transaction, model.Id);
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

            await ModelStore.SetAliasTrafficAsync(connection, transaction, model.Id, alias, Version(traffic.Challenger, "challenger"), traffic.ChallengerPercent,
                Version(traffic.Shadow, "shadow"));
            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync(model.TenantId);
        return View();
    }

    /// <inheritdoc />
    public async Task<ServingRoute> GetServingRouteAsync(string versionOrAlias)
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        var model = Model;
        var label = versionOrAlias == "active" ? model.ActiveVersion ?? throw PhantomException.NotFound("active version of model", _name) : versionOrAlias;
        var alias = _aliases.ContainsKey(label) ? label : null;
        var traffic = alias is null ? null : _traffic.GetValueOrDefault(alias);
        return await database.InTenantAsync(model.TenantId, async (connection, transaction) =>
        {
            var versions = await ModelStore.ListVersionsAsync(connection, transaction, model.Id);
            async Task<ArtifactView?> ArtifactOf(string? version) => version is null ? null
                : await ArtifactRecords.FindAsync(connection, transaction, Resolve(versions, version).Id)
                  ?? throw PhantomException.NotFound("artifact of version", version);
            var primary = (await ArtifactOf(label))!;
            var challenger = traffic is { Challenger: { } c, ChallengerPercent: > 0 } ? await ArtifactOf(c) : null;
            return new ServingRoute(model.Id, primary, challenger, challenger is null ? 0 : traffic!.ChallengerPercent, await ArtifactOf(traffic?.Shadow), alias);
        });
    }

    /// <inheritdoc />
    public async Task<ModelView> RemoveAliasAsync(string alias, long expectedETag)
    {
        var audit = Event("remove-alias", Details: new { alias });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        await InvalidateCacheAsync();
        await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            RequireETag(expectedETag);
            if (!await ModelStore.RemoveAliasAsync(connection, transaction, model.Id, alias))
            {
                throw PhantomException.NotFound("alias", alias);
            }

            return await BumpAsync(connection, transaction, model);
        }, replay: () => Task.FromResult(Model));
        await ReloadAsync(model.TenantId);
        return View();
    }

    /// <inheritdoc />
    public async Task<LineageEdge> AddLineageAsync(string parentModel, string lineageType, string? transformationMetadata)
    {
        var audit = Event("add-lineage", Details: new { parentModel, lineageType });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        // Lineage is not part of the model's view: the cache stays as it is.
        return await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
        {
            if (lineageType is not ("derived" or "retrained" or "ensemble"))
            {
                throw PhantomException.Invalid("lineageType must be derived, retrained or ensemble.", "lineageType");
            }

            // Same tenant only: the parent is looked up under this tenant's row-level security.
            var parent = await ModelStore.LoadAsync(connection, transaction, ModelLifecycle.Name(parentModel))
                ?? throw PhantomException.NotFound("model", parentModel);
            if (parent.Id == model.Id)
            {
                throw PhantomException.Invalid("A model cannot be its own parent.", "parentModel");
            }

            var ancestors = await ModelStore.WalkLineageAsync(connection, transaction, parent.Id, depth: 100, up: true);
            if (ancestors.Any(edge => edge.ParentModel == model.Name))
            {
                throw PhantomException.Conflict($"'{parent.Name}' already descends from '{model.Name}'; lineage cannot form a cycle.");
            }

            return await ModelStore.InsertLineageAsync(connection, transaction, model, parent, lineageType, Metadata(transformationMetadata));
        });
    }

    /// <inheritdoc />
    public async Task<LineageGraph> GetLineageAsync(int depth)
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        if (depth is < 1 or > 50)
        {
            throw PhantomException.Invalid("depth must be 1-50.", "depth");
        }

        var model = Model;
        return await database.InTenantAsync(model.TenantId, async (connection, transaction) => new LineageGraph(model.Name,
            await ModelStore.WalkLineageAsync(connection, transaction, model.Id, depth, up: true),
            await ModelStore.WalkLineageAsync(connection, transaction, model.Id, depth, up: false)));
    }

    /// <inheritdoc />
    public async Task<ArtifactUploadTicket> PrepareArtifactUploadAsync(string versionOrAlias, long sizeBytes)
    {
        var audit = Event("upload-artifact", Details: new { version = versionOrAlias, sizeBytes });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync(model.TenantId);
        try
        {
            return await database.InTenantAsync(model.TenantId, async (connection, transaction) =>
            {
                var version = Resolve(await ModelStore.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
                if (await ArtifactRecords.FindAsync(connection, transaction, version.Id) is not null)
                {
                    throw PhantomException.Conflict($"Version '{version.Version}' has its artifact already; register a new version for a new artifact.");
                }

                if (sizeBytes < 0)
                {
                    throw PhantomException.Invalid("The artifact size must not be negative.", "Content-Length");
                }

                // Fail before anything streams; the bytes are consumed when the upload completes.
                var used = (await TenantStore.ReadUsageAsync(connection, transaction, time.GetUtcNow()))[Quotas.ArtifactBytes];
                if (used + sizeBytes > limits[Quotas.ArtifactBytes])
                {
                    throw PhantomException.QuotaExceeded(Quotas.ArtifactBytes, limits[Quotas.ArtifactBytes], used, sizeBytes);
                }

                return new ArtifactUploadTicket(version.Id, version.Version, ArtifactKeys.For(model.TenantId, model.Id, version.Id));
            });
        }
        catch (PhantomException e) when (e.Status is 409 or 429 or 400)
        {
            await AuditRecorder.RecordAloneAsync(database, model.TenantId, caller.UserId, caller.Client,
                audit.As(e.Status == 429 ? AuditEvent.Denied : AuditEvent.Failure, new { status = e.Status, error = e.Detail }));
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<ArtifactView> CompleteArtifactUploadAsync(ArtifactUploadTicket ticket, long sizeBytes, string sha256, string? expectedSha256)
    {
        var audit = Event("upload-artifact", Details: new { version = ticket.Version, sizeBytes, sha256 });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync(model.TenantId);
        try
        {
            await InvalidateCacheAsync();
            return await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
            {
                if (!ArtifactKeys.IsGenerated(ticket.ObjectKey) || !ticket.ObjectKey.Contains($"/{ticket.VersionId:N}/", StringComparison.Ordinal))
                {
                    throw PhantomException.Invalid("The upload ticket is not valid.", "ticket");
                }

                if (expectedSha256 is not null && !string.Equals(expectedSha256, sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw PhantomException.Invalid($"The artifact's SHA-256 is {sha256}, not the {expectedSha256} the client sent; nothing was stored.", "X-Content-Sha256");
                }

                if (await ArtifactRecords.FindAsync(connection, transaction, ticket.VersionId) is not null)
                {
                    throw PhantomException.Conflict($"Version '{ticket.Version}' has its artifact already.");
                }

                await TenantStore.ConsumeAsync(connection, transaction, model.TenantId, Quotas.ArtifactBytes, sizeBytes, limits[Quotas.ArtifactBytes], time.GetUtcNow());
                await ArtifactRecords.InsertAsync(connection, transaction, model, ticket.VersionId, sizeBytes, sha256.ToLowerInvariant(), artifacts, ticket.ObjectKey);
                await BumpAsync(connection, transaction, model);
                return (await ArtifactRecords.FindAsync(connection, transaction, ticket.VersionId))!;
            });
        }
        catch
        {
            // Whatever refused it, the uploaded object must not outlive the refusal.
            await DeleteObjectQuietlyAsync(ticket.ObjectKey);
            throw;
        }
        finally
        {
            await ReloadAsync(model.TenantId);
        }
    }

    /// <inheritdoc />
    public async Task<ArtifactView> GetArtifactAsync(string versionOrAlias)
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        return await FindArtifactAsync(versionOrAlias);
    }

    /// <inheritdoc />
    public async Task<ArtifactVerification> VerifyArtifactAsync(string versionOrAlias)
    {
        var audit = Event("verify-artifact", Details: new { version = versionOrAlias });
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, audit);
        var artifact = await FindArtifactAsync(versionOrAlias);
        ArtifactVerification result;
        try
        {
            await using var content = await artifacts.OpenReadAsync(artifact.StoragePath, 0, null, CancellationToken.None);
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            long size = 0;
            int read;
            while ((read = await content.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                size += read;
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            var intact = actual == artifact.Sha256 && size == artifact.SizeBytes;
            result = new ArtifactVerification(intact, artifact.Sha256, actual, size, intact ? null : "The stored bytes differ from what was uploaded.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            result = new ArtifactVerification(false, artifact.Sha256, null, null, $"The stored object cannot be read: {e.Message}");
        }

        await AuditRecorder.RecordAloneAsync(database, Model.TenantId, caller.UserId, caller.Client,
            audit.As(result.Intact ? AuditEvent.Success : AuditEvent.Failure, result));
        return result;
    }

    /// <inheritdoc />
    public async Task<Uri?> GetArtifactUrlAsync(string versionOrAlias, TimeSpan validFor)
    {
        await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsRead, Event("read"));
        if (validFor <= TimeSpan.Zero || validFor > TimeSpan.FromDays(7))
        {
            throw PhantomException.Invalid("A download URL is valid for 1 second to 7 days.", "expiresIn");
        }

        var artifact = await FindArtifactAsync(versionOrAlias);
        return await artifacts.GetDownloadUrlAsync(artifact.StoragePath, validFor, CancellationToken.None);
    }

    private async Task<ArtifactView> FindArtifactAsync(string versionOrAlias)
    {
        var model = Model;
        return await database.InTenantAsync(model.TenantId, async (connection, transaction) =>
        {
            var version = Resolve(await ModelStore.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            return await ArtifactRecords.FindAsync(connection, transaction, version.Id) ?? throw PhantomException.NotFound("artifact of version", version.Version);
        });
    }

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

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Error, Message = "Could not delete artifact object {ObjectKey}; it is orphaned")]
    private partial void LogOrphan(Exception exception, string objectKey);

    private async Task<ModelView> ChangeModelAsync(string action, long? expectedETag, object details, Func<ModelRecord, ModelRecord> change)
    {
        var audit = Event(action, Details: details);
        var caller = await guard.AuthorizeAsync(_tenantId, _tenantKey, Permissions.ModelsWrite, audit);
        var model = Model;
        // A stale ETag is answered at once, before any database work: under contention most attempts are stale.
        // It changes nothing and refuses nothing, so it leaves no audit row.
        var expected = expectedETag ?? model.RowVersion;
        RequireETag(expected);
        await InvalidateCacheAsync();
        // The UPDATE returns the committed row, and these changes leave the aliases alone: no reload is needed.
        _model = await changes.ApplyAsync(caller, model.TenantId, audit, async (connection, transaction) =>
            await ModelStore.UpdateAsync(connection, transaction, change(model), expected) ?? throw PhantomException.PreconditionFailed(model.RowVersion),
            replay: () => Task.FromResult(Model));
        await PublishAsync();
        return View();
    }

    /// <summary>A change to versions or aliases is a change to the model: its ETag moves too.</summary>
    private static async Task<ModelRecord> BumpAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, ModelRecord model) =>
        await ModelStore.UpdateAsync(connection, transaction, model, model.RowVersion) ?? throw PhantomException.PreconditionFailed(model.RowVersion);

    private void RequireETag(long expected)
    {
        if (expected != Model.RowVersion)
        {
            throw PhantomException.PreconditionFailed(Model.RowVersion);
        }
    }

    private async Task<ModelVersionView> GetVersionInternalAsync(string versionOrAlias) =>
        Resolve(await database.InTenantAsync(Model.TenantId, (connection, transaction) => ModelStore.ListVersionsAsync(connection, transaction, Model.Id)), versionOrAlias);

    private ModelVersionView Resolve(IReadOnlyList<ModelVersionView> versions, string versionOrAlias)
    {
        var label = _aliases.TryGetValue(versionOrAlias, out var target) ? target : versionOrAlias;
        return versions.SingleOrDefault(v => v.Version == label) ?? throw PhantomException.NotFound("model version", versionOrAlias);
    }

    /// <summary>Reads the committed state and publishes it to the shared cache.</summary>
    private async Task ReloadAsync(Guid tenantId)
    {
        (_model, _aliases, _traffic) = await database.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            var model = _name.Length == 0 ? null : await ModelStore.LoadAsync(connection, transaction, _name);
            return model is null
                ? (null, [], [])
                : (model, await ModelStore.ListAliasesAsync(connection, transaction, model.Id), await ModelStore.ListAliasTrafficAsync(connection, transaction, model.Id));
        });
        await PublishAsync();
    }

    /// <summary>Publishes the committed state to the shared cache (only this activation ever writes the key).</summary>
    private Task PublishAsync() => _model is null ? Task.CompletedTask : cache.SetAsync(_model.TenantId, View());

    /// <summary>
    /// Before a change commits, the cached view goes: readers then miss and ask this grain until the new
    /// state is published, so no reader sees the old state after the change returns, even if this silo dies
    /// between the commit and the publication.
    /// </summary>
    private Task InvalidateCacheAsync() => _tenantId is { } tenantId ? cache.InvalidateAsync(tenantId, _name) : Task.CompletedTask;

    private async Task<IReadOnlyDictionary<string, long>> QuotaLimitsAsync(Guid tenantId) =>
        (await database.InTenantAsync(tenantId, (connection, transaction) => TenantStore.LoadAsync(connection, transaction)))?.EffectiveQuotas
        ?? throw PhantomException.NotFound("tenant", _tenantKey);

    private ModelView View() => Model.ToView(_aliases, _traffic);

    private AuditEvent Event(string action, object? Details = null) =>
        new(action == "read" ? "data_access" : "model_lifecycle", "model", _name.Length <= 255 ? _name : _name[..255], action, AuditEvent.Success, Details);

    private static Dictionary<string, double> Metrics(RegisterVersion command)
    {
        var metrics = new Dictionary<string, double>();
        foreach (var (name, value) in new[] { ("accuracy", command.Accuracy), ("precision", command.Precision), ("recall", command.Recall), ("f1", command.F1) })
        {
            if (value is { } score)
            {
                metrics[name] = score is >= 0 and <= 1 ? score : throw PhantomException.Invalid($"{name} must be a number in [0, 1].", name);
            }
        }

        foreach (var (name, value) in command.PerformanceMetrics ?? new Dictionary<string, double>())
        {
            ModelLifecycle.Word(name, "performanceMetrics");
            metrics[name] = double.IsFinite(value) ? value : throw PhantomException.Invalid($"performance metric '{name}' must be a finite number.", "performanceMetrics");
        }

        return metrics;
    }

    /// <summary>Each metric the version and its parent both have: version minus parent.</summary>
    private static Dictionary<string, double> Delta(Dictionary<string, double> metrics, ModelVersionView? parent)
    {
        if (parent is null)
        {
            return [];
        }

        var before = new Dictionary<string, double>(parent.PerformanceMetrics);
        foreach (var (name, value) in new[] { ("accuracy", parent.Accuracy), ("precision", parent.Precision), ("recall", parent.Recall), ("f1", parent.F1) })
        {
            if (value is { } score)
            {
                before[name] = score;
            }
        }

        return metrics.Where(m => before.ContainsKey(m.Key)).ToDictionary(m => m.Key, m => Math.Round(m.Value - before[m.Key], 10));
    }

    private static int? FeatureCount(int? count) => count is null or (>= 0 and <= 10_000_000) ? count
        : throw PhantomException.Invalid("featureCount must be 0-10,000,000.", "featureCount");

    private static long? TrainingSamples(long? samples) => samples is null or >= 0 ? samples
        : throw PhantomException.Invalid("trainingSamples must not be negative.", "trainingSamples");

    private static Dictionary<string, string> Tags(IReadOnlyDictionary<string, string>? tags)
    {
        var result = new Dictionary<string, string>();
        foreach (var (key, value) in tags ?? new Dictionary<string, string>())
        {
            if (result.Count >= 100 || !ModelLifecycle.IsTagKey(key) || value is null || value.Length > 256)
            {
                throw PhantomException.Invalid("tags: at most 100, keys 1-100 of letters, digits, '.', '_', '-', values at most 256 characters.", "tags");
            }

            result[key] = value;
        }

        return result;
    }

    private static string? Metadata(string? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Length > MaxMetadataChars)
        {
            throw PhantomException.Invalid("metadata is at most 64 KiB.", "metadata");
        }

        try
        {
            using var document = JsonDocument.Parse(metadata);
            return document.RootElement.ValueKind == JsonValueKind.Object ? metadata
                : throw PhantomException.Invalid("metadata must be a JSON object.", "metadata");
        }
        catch (JsonException)
        {
            throw PhantomException.Invalid("metadata must be a JSON object.", "metadata");
        }
    }
}
