using System.Globalization;
using System.Text.Json;
using PhantomMl.Grains;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Training;

namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>MLflow's model registry API: registered models and model versions, onto the platform's registry.</summary>
public static class MlflowRegistryApi
{
    /// <summary>How often a registration takes the next number after losing it to another client.</summary>
    private const int MaxRegistrationAttempts = 100;

    private static readonly IReadOnlySet<string> NumericAttributes = new HashSet<string> { "creation_timestamp", "last_updated_timestamp" };
    private static readonly IReadOnlySet<string> StringAttributes = new HashSet<string> { "name", "run_id", "source", "version_number" };

    /// <summary>Maps the registry endpoints under one MLflow prefix.</summary>
    public static RouteGroupBuilder MapMlflowRegistry(this RouteGroupBuilder mlflow)
    {
        mlflow.MapPost("/registered-models/create", CreateModelAsync);
        mlflow.MapGet("/registered-models/get", GetModelAsync);
        mlflow.MapPatch("/registered-models/update", UpdateModelAsync);
        mlflow.MapDelete("/registered-models/delete", DeleteModelAsync);
        mlflow.MapPost("/registered-models/rename", RenameModelAsync);
        mlflow.MapMethods("/registered-models/search", ["GET", "POST"], SearchModelsAsync);
        mlflow.MapMethods("/registered-models/get-latest-versions", ["GET", "POST"], GetLatestVersionsAsync);
        mlflow.MapPost("/registered-models/set-tag", SetModelTagAsync);
        mlflow.MapDelete("/registered-models/delete-tag", DeleteModelTagAsync);
        mlflow.MapPost("/registered-models/alias", SetAliasAsync);
        mlflow.MapDelete("/registered-models/alias", DeleteAliasAsync);
        mlflow.MapGet("/registered-models/alias", GetVersionByAliasAsync);

        mlflow.MapPost("/model-versions/create", CreateVersionAsync);
        mlflow.MapGet("/model-versions/get", GetVersionAsync);
        mlflow.MapDelete("/model-versions/delete", DeleteVersionAsync);
        mlflow.MapPatch("/model-versions/update", UpdateVersionAsync);
        mlflow.MapPost("/model-versions/set-tag", SetVersionTagAsync);
        mlflow.MapDelete("/model-versions/delete-tag", DeleteVersionTagAsync);
        mlflow.MapPost("/model-versions/transition-stage", TransitionStageAsync);
        mlflow.MapMethods("/model-versions/search", ["GET", "POST"], SearchVersionsAsync);
        mlflow.MapGet("/model-versions/get-download-uri", GetDownloadUriAsync);
        return mlflow;
    }

    private static async Task<IResult> CreateModelAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var description = args.OptionalString("description");
        var created = await model.CreateAsync(new CreateModel("mlflow", "mlflow", Tags: args.KeyValues("tags"),
            Metadata: description is null ? null : JsonSerializer.Serialize(new { description })));
        return MlflowJson.Ok(new Dictionary<string, object> { ["registered_model"] = MlflowJson.RegisteredModel(created, []) });
    }

    private static async Task<IResult> RenameModelAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var model = grains.Model(tenantKey, args.String("name"));
        var renamed = await WithETagAsync(http, model, etag => model.RenameAsync(args.String("new_name"), etag));
        return MlflowJson.Ok(new Dictionary<string, object>
        {
            ["registered_model"] = MlflowJson.RegisteredModel(renamed, await grains.Model(tenantKey, renamed.Name).ListVersionsAsync()),
        });
    }

    private static async Task<IResult> GetModelAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        return MlflowJson.Ok(new Dictionary<string, object>
        {
            ["registered_model"] = MlflowJson.RegisteredModel(await model.GetAsync(), await model.ListVersionsAsync()),
        });
    }

    private static async Task<IResult> UpdateModelAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var updated = args.OptionalString("description") is { } description
            ? await model.UpdateAsync(new UpdateModel(Metadata: JsonSerializer.Serialize(new { description })), null)
            : await model.GetAsync();
        return MlflowJson.Ok(new Dictionary<string, object>
        {
            ["registered_model"] = MlflowJson.RegisteredModel(updated, await model.ListVersionsAsync()),
        });
    }

    private static async Task<IResult> DeleteModelAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        await WithETagAsync(http, model, async etag =>
        {
            await model.DeleteAsync(etag);
            return true;
        });
        return MlflowJson.Empty();
    }

    private static async Task<IResult> SearchModelsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var filter = SearchFilter.Parse(args.OptionalString("filter"), NumericAttributes, StringAttributes, allowMetricsAndParams: false);
        var orderBy = args.Strings("order_by");
        var order = orderBy.Count <= TrackingCatalogGrain.MaxOrderClauses
            ? orderBy.Select(clause => SearchFilter.OrderClause(clause, NumericAttributes, StringAttributes, false)).ToList()
            : throw PhantomException.Invalid($"order_by holds at most {TrackingCatalogGrain.MaxOrderClauses} clauses.", "order_by");
        var size = args.Int("max_results", 100, 1, 1000);
        var offset = args.OptionalString("page_token") is { Length: > 0 } token ? PageTokens.Offset(token) : 0;
        var models = await AllModelsAsync(grains, tenantKey);
        var matching = models.Where(model => filter.Matches((type, key) => ModelValue(model, type, key)));
        var sorted = order.Count == 0 ? matching.OrderBy(model => model.Name, StringComparer.Ordinal)
            : order.Aggregate(matching.OrderBy(_ => 0), (sorting, clause) => clause.Descending
                ? sorting.ThenByDescending(model => ModelValue(model, clause.Type, clause.Key)?.ToString(), StringComparer.Ordinal)
                : sorting.ThenBy(model => ModelValue(model, clause.Type, clause.Key)?.ToString(), StringComparer.Ordinal));
        var page = sorted.Skip((int)offset).Take(size + 1).ToList();
        var answered = new List<object>();
        foreach (var model in page.Take(size))
        {
            answered.Add(MlflowJson.RegisteredModel(model, await grains.Model(tenantKey, model.Name).ListVersionsAsync()));
        }

        return MlflowJson.Ok(new MlflowJson.Fields
        {
            ["registered_models"] = answered,
            ["next_page_token"] = page.Count > size ? PageTokens.Of(offset + size) : null,
        });
    }

    private static async Task<IResult> GetLatestVersionsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var view = await model.GetAsync();
        var latest = MlflowRegistry.LatestPerStage(view, await model.ListVersionsAsync(), args.Strings("stages"));
        return MlflowJson.Ok(new Dictionary<string, object> { ["model_versions"] = latest.Select(v => MlflowJson.ModelVersion(view, v)).ToList() });
    }

    private static async Task<IResult> SetModelTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        await model.UpdateAsync(new UpdateModel(MergeTags: new Dictionary<string, string> { [args.String("key")] = args.OptionalString("value") ?? "" }),
            null);
        return MlflowJson.Empty();
    }

    private static async Task<IResult> DeleteModelTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var key = args.String("key");
        await WithETagAsync(http, model, async etag =>
        {
            var current = await model.GetAsync();
            if (!current.Tags.ContainsKey(key))
            {
                throw PhantomException.NotFound("tag", key);
            }

            return await model.UpdateAsync(new UpdateModel(Tags: current.Tags.Where(tag => tag.Key != key).ToDictionary()), current.ETag);
        });
        return MlflowJson.Empty();
    }

    private static async Task<IResult> SetAliasAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var (alias, version) = (args.String("alias"), args.String("version"));
        await WithETagAsync(http, model, etag => model.SetAliasAsync(alias, version, etag));
        return MlflowJson.Empty();
    }

    private static async Task<IResult> DeleteAliasAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var alias = args.String("alias");
        await WithETagAsync(http, model, etag => model.RemoveAliasAsync(alias, etag));
        return MlflowJson.Empty();
    }

    private static async Task<IResult> GetVersionByAliasAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var alias = args.String("alias");
        var view = await model.GetAsync();
        var version = view.Aliases.TryGetValue(alias, out var label) ? await model.GetVersionAsync(label)
            : throw PhantomException.NotFound("alias", alias);
        return MlflowJson.Ok(new Dictionary<string, object> { ["model_version"] = MlflowJson.ModelVersion(view, version) });
    }

    /// <summary>
    /// MLflow numbers a model's versions 1, 2, 3...: the next number after the highest. Two clients that register at once
    /// may pick the same number; the registry refuses the second (409), which then takes the next.
    /// </summary>
    private static async Task<IResult> CreateVersionAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var runId = args.OptionalString("run_id") is { Length: > 0 } run ? MlflowTrackingApi.RunId(run) : (Guid?)null;
        var source = args.OptionalString("source");
        var description = args.OptionalString("description");
        for (var attempt = 1; ; attempt++)
        {
            MlflowCalls.Part(http, $"register-{attempt}");
            var versions = await model.ListVersionsAsync();
            var next = (versions.Count == 0 ? 0 : versions.Max(version => MlflowRegistry.Number(version.Version))) + 1;
            try
            {
                var version = await model.RegisterVersionAsync(new RegisterVersion(next.ToString(CultureInfo.InvariantCulture),
                    Changelog: description, TrainingJobId: runId, Source: string.IsNullOrEmpty(source) ? null : source));
                return MlflowJson.Ok(new Dictionary<string, object> { ["model_version"] = MlflowJson.ModelVersion(await model.GetAsync(), version) });
            }
            // The model's activation registers one version at a time, so every round lets at least one racing client through.
            catch (PhantomException e) when (e.Status == StatusCodes.Status409Conflict && attempt < MaxRegistrationAttempts)
            {
                // Another client took this number meanwhile: the next one.
            }
        }
    }

    private static async Task<IResult> GetVersionAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var version = await model.GetVersionAsync(args.String("version"));
        return MlflowJson.Ok(new Dictionary<string, object> { ["model_version"] = MlflowJson.ModelVersion(await model.GetAsync(), version) });
    }

    private static async Task<IResult> DeleteVersionAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var version = args.String("version");
        await WithETagAsync(http, model, etag => model.DeleteVersionAsync(version, etag));
        return MlflowJson.Empty();
    }

    private static async Task<IResult> UpdateVersionAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var version = await model.UpdateVersionAsync(args.String("version"), args.OptionalString("description"), null, null);
        return MlflowJson.Ok(new Dictionary<string, object> { ["model_version"] = MlflowJson.ModelVersion(await model.GetAsync(), version) });
    }

    private static async Task<IResult> SetVersionTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        await model.UpdateVersionAsync(args.String("version"), null,
            new Dictionary<string, string> { [args.String("key")] = args.OptionalString("value") ?? "" }, null);
        return MlflowJson.Empty();
    }

    private static async Task<IResult> DeleteVersionTagAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        await model.UpdateVersionAsync(args.String("version"), null, null, [args.String("key")]);
        return MlflowJson.Empty();
    }

    /// <summary>
    /// Production activates the version (the one the model serves); Staging points the staging alias at it; Archived
    /// archives it; None takes it out of Staging or Archived. The version the model serves leaves Production only when
    /// another version takes its place. With archive_existing_versions, the version that held the target stage before
    /// (one at most: one active version, one staging alias) is archived. Each step is one change of the model's; a step
    /// that fails leaves the steps before it done, each a state MLflow knows.
    /// </summary>
    private static async Task<IResult> TransitionStageAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var version = args.String("version");
        var stage = MlflowRegistry.Stages.FirstOrDefault(s => s.Equals(args.String("stage"), StringComparison.OrdinalIgnoreCase))
            ?? throw PhantomException.Invalid($"Invalid stage: one of {string.Join(", ", MlflowRegistry.Stages)}.", "stage");
        var archiveExisting = args.Bool("archive_existing_versions");
        var current = await model.GetVersionAsync(version);
        var view = await model.GetAsync();
        var from = MlflowRegistry.StageOf(view, current);
        var previous = archiveExisting ? MlflowRegistry.HolderOf(view, await model.ListVersionsAsync(), stage, current.Version) : null;
        Task<ModelView> Archive(string label, bool archived, string step) =>
            WithETagAsync(http, model, etag => model.ArchiveVersionAsync(label, archived, etag), step);
        Task<ModelView> DropStaging() => WithETagAsync(http, model, etag => model.RemoveAliasAsync(MlflowRegistry.StagingAlias, etag), "unstage");
        switch (stage, from)
        {
            case var (to, was) when to == was:
                break;
            case (_, "Production"):
                throw PhantomException.Conflict(
                    "This version is the one the model serves (Production); make another version Production to move it out.");
            case ("Production", _):
                // Activation brings an archived version back; a staged one leaves Staging, as in MLflow.
                await WithETagAsync(http, model, etag => model.ActivateVersionAsync(version, etag), "activate");
                if (from == "Staging")
                {
                    await DropStaging();
                }

                break;
            case ("Staging", _):
                if (from == "Archived")
                {
                    await Archive(version, false, "restore");
                }

                await WithETagAsync(http, model, etag => model.SetAliasAsync(MlflowRegistry.StagingAlias, version, etag), "stage");
                break;
            case ("Archived", _):
                if (from == "Staging")
                {
                    await DropStaging();
                }

                await Archive(version, true, "archive");
                break;
            default:
                await (from == "Staging" ? DropStaging() : Archive(version, false, "restore"));
                break;
        }

        if (previous is not null)
        {
            await Archive(previous, true, "archive-previous");
        }

        return MlflowJson.Ok(new Dictionary<string, object>
        {
            ["model_version"] = MlflowJson.ModelVersion(await model.GetAsync(), await model.GetVersionAsync(version)),
        });
    }

    /// <summary>Versions matching MLflow's filter (name = '...', run_id = '...', source, version_number); a name narrows the read to one model.</summary>
    private static async Task<IResult> SearchVersionsAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var tenantKey = await tenants.OfAsync(http);
        var filter = SearchFilter.Parse(args.OptionalString("filter"), NumericAttributes, StringAttributes, allowMetricsAndParams: false);
        var size = args.Int("max_results", 10_000, 1, 200_000);
        var offset = args.OptionalString("page_token") is { Length: > 0 } token ? PageTokens.Offset(token) : 0;
        var named = filter.Clauses.FirstOrDefault(clause => clause is { Type: "attribute", Key: "name", Comparator: "=" })?.Value as string;
        var models = named is not null ? [await grains.Model(tenantKey, named).GetAsync()] : await AllModelsAsync(grains, tenantKey);
        var matching = new List<object>();
        foreach (var model in models.OrderBy(model => model.Name, StringComparer.Ordinal))
        {
            foreach (var version in (await grains.Model(tenantKey, model.Name).ListVersionsAsync()).OrderByDescending(v => MlflowRegistry.Number(v.Version)))
            {
                if (filter.Matches((type, key) => VersionValue(model, version, type, key)))
                {
                    matching.Add(MlflowJson.ModelVersion(model, version));
                }
            }
        }

        var page = matching.Skip((int)offset).Take(size + 1).ToList();
        return MlflowJson.Ok(new MlflowJson.Fields
        {
            ["model_versions"] = page.Take(size).ToList(),
            ["next_page_token"] = page.Count > size ? PageTokens.Of(offset + size) : null,
        });
    }

    private static async Task<IResult> GetDownloadUriAsync(HttpContext http, IGrainFactory grains, MlflowTenants tenants)
    {
        using var args = await MlflowArgs.ReadAsync(http);
        var model = grains.Model(await tenants.OfAsync(http), args.String("name"));
        var version = await model.GetVersionAsync(args.String("version"));
        return MlflowJson.Ok(new Dictionary<string, object> { ["artifact_uri"] = version.Source ?? version.ArtifactUri ?? "" });
    }

    private static object? ModelValue(ModelView model, string type, string key) => type == "tag"
        ? model.Tags.GetValueOrDefault(key)
        : key switch
        {
            "name" => model.Name,
            "creation_timestamp" => (double)model.CreatedAt.ToUnixTimeMilliseconds(),
            "last_updated_timestamp" => (double)model.UpdatedAt.ToUnixTimeMilliseconds(),
            _ => null,
        };

    private static object? VersionValue(ModelView model, ModelVersionView version, string type, string key) => type == "tag"
        ? version.Tags?.GetValueOrDefault(key)
        : key switch
    {
        "name" => model.Name,
        "run_id" => version.TrainingJobId?.ToString("N"),
        "source" => version.Source ?? version.ArtifactUri,
        "version_number" => version.Version,
        "creation_timestamp" => (double)version.CreatedAt.ToUnixTimeMilliseconds(),
        "last_updated_timestamp" => (double)version.CreatedAt.ToUnixTimeMilliseconds(),
        _ => null,
    };

    /// <summary>Every model of the tenant, a catalog page of 500 at a time (the tenant's models quota bounds them).</summary>
    private static async Task<List<ModelView>> AllModelsAsync(IGrainFactory grains, string tenantKey)
    {
        var models = new List<ModelView>();
        string? cursor = null;
        do
        {
            var page = await grains.ModelCatalog(tenantKey).SearchAsync(new ModelSearch(Limit: 500, Cursor: cursor));
            models.AddRange(page.Models);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return models;
    }

    /// <summary>A change that needs the model's ETag: read, then change; another writer in between (412) makes it read again.</summary>
    private static async Task<T> WithETagAsync<T>(HttpContext http, IModelGrain model, Func<long, Task<T>> change, string step = "change")
    {
        for (var attempt = 1; ; attempt++)
        {
            // Each step of a call and each attempt is a request of its own (see MlflowCalls).
            MlflowCalls.Part(http, $"{step}-{attempt}");
            var etag = (await model.GetAsync()).ETag;
            try
            {
                return await change(etag);
            }
            catch (PhantomException e) when (e.Status == StatusCodes.Status412PreconditionFailed && attempt < 5)
            {
            }
        }
    }
}
