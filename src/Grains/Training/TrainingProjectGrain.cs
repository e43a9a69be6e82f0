using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Training;

/// <summary>
/// See <see cref="ITrainingProjectGrain"/>. The row is the state, read afresh on every call (runs and searches read it
/// too); every change is one audited transaction.
/// </summary>
public sealed class TrainingProjectGrain(
    TenantDatabase database,
    TrackingSql trackingSql,
    TenantSql tenantSql,
    TenantLimits limits,
    AccessGuard guard,
    AuditedChanges changes) : Grain, ITrainingProjectGrain
{
    /// <summary>The name of each tenant's project "0", where MLflow's clients log when they name no experiment.</summary>
    public const string DefaultName = "Default";

    private string _tenantKey = "";
    private string _projectId = "";
    private Guid _tenantId;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenantKey, _projectId) = GrainKeys.ParseModel(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <summary>
    /// The project; project "0" is created (as "Default") on first use, so every tenant has MLflow's default experiment
    /// without a step of its own. Null when there is no such project.
    /// </summary>
    public static async Task<ProjectView?> LoadOrCreateDefaultAsync(TrackingSql sql, NpgsqlTransaction transaction, string projectId, string userId)
    {
        var project = await sql.LoadProjectAsync(transaction, projectId);
        if (project is not null || projectId != "0")
        {
            return project;
        }

        // A project of the tenant already named "Default" keeps its name: project 0 is then named after its id.
        var name = await sql.LoadProjectByNameAsync(transaction, DefaultName) is null ? DefaultName : "Default (0)";
        return await sql.InsertProjectAsync(transaction, "0", name, null, new Dictionary<string, string>(), userId);
    }

    /// <inheritdoc />
    public async Task<ProjectView> CreateAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags)
    {
        var audit = Event("create", new { name });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var validName = TrackingValidation.ProjectName(name);
        if (artifactLocation is not null)
        {
            // Files of runs always go to the platform's store; a location elsewhere would be a promise the proxy cannot keep.
            throw PhantomException.Invalid("artifact_location is chosen by the platform (files go to its artifact store); leave it out.",
                "artifact_location");
        }

        var validTags = TrackingValidation.Tags(tags);
        if (_projectId == "0")
        {
            throw PhantomException.Conflict("Experiment 0 is the tenant's Default experiment; it exists already.");
        }

        var limit = await limits.GetAsync(_tenantId, Quotas.TrackingProjects);
        return await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            if (await trackingSql.LoadProjectAsync(transaction, _projectId) is not null)
            {
                throw PhantomException.Conflict($"Experiment {_projectId} exists already.");
            }

            if (await trackingSql.LoadProjectByNameAsync(transaction, validName) is not null)
            {
                throw PhantomException.Conflict($"Experiment '{validName}' already exists.");
            }

            await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.TrackingProjects, 1, limit, DateTimeOffset.UtcNow);
            return await trackingSql.InsertProjectAsync(transaction, _projectId, validName, null, validTags, caller.UserId);
        }, replay: LoadAsync);
    }

    /// <inheritdoc />
    public async Task<ProjectView> GetAsync()
    {
        var caller = await AuthorizeAsync(Permissions.TrainingRead, Event("read"));
        return await database.InTenantAsync(_tenantId, async (_, transaction) =>
            await LoadOrCreateDefaultAsync(trackingSql, transaction, _projectId, caller.UserId) ?? throw NotFound());
    }

    /// <inheritdoc />
    public async Task<ProjectView> RenameAsync(string newName)
    {
        var audit = Event("rename", new { newName });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var name = TrackingValidation.ProjectName(newName, "new_name");
        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
        {
            var project = await LoadOrCreateDefaultAsync(trackingSql, transaction, _projectId, caller.UserId) ?? throw NotFound();
            RequireActive(project);
            if (project.Name != name && await trackingSql.LoadProjectByNameAsync(transaction, name) is not null)
            {
                throw PhantomException.Conflict($"Experiment '{name}' already exists.");
            }

            return (await trackingSql.RenameProjectAsync(transaction, _projectId, name))!;
        }, replay: LoadAsync);
    }

    /// <inheritdoc />
    public async Task<ProjectView> SetTagAsync(string key, string value)
    {
        var audit = Event("set-tag", new { key });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        var validKey = TrackingValidation.Key(key);
        var validValue = TrackingValidation.TagValue(key, value);
        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
        {
            RequireActive(await LoadOrCreateDefaultAsync(trackingSql, transaction, _projectId, caller.UserId) ?? throw NotFound());
            return (await trackingSql.SetProjectTagAsync(transaction, _projectId, validKey, validValue))!;
        }, replay: LoadAsync);
    }

    /// <inheritdoc />
    public async Task<ProjectView> SetDeletedAsync(bool deleted)
    {
        var audit = Event(deleted ? "delete" : "restore");
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (deleted && _projectId == "0")
        {
            throw PhantomException.Invalid("The Default experiment cannot be deleted.", "experiment_id");
        }

        return await changes.ApplyAsync(caller, _tenantId, audit, async (_, transaction) =>
        {
            var project = await LoadOrCreateDefaultAsync(trackingSql, transaction, _projectId, caller.UserId) ?? throw NotFound();
            if ((project.DeletedAt is not null) == deleted)
            {
                throw PhantomException.Invalid($"Experiment {_projectId} is {(deleted ? "deleted already" : "not deleted")}.", "experiment_id");
            }

            return (await trackingSql.SetProjectDeletedAsync(transaction, _projectId, deleted))!;
        }, replay: LoadAsync);
    }

    private Task<ProjectView> LoadAsync() =>
        database.InTenantAsync(_tenantId, async (_, transaction) => await trackingSql.LoadProjectAsync(transaction, _projectId) ?? throw NotFound());

    private void RequireActive(ProjectView project)
    {
        if (project.DeletedAt is not null)
        {
            throw PhantomException.Invalid($"Experiment {_projectId} is deleted; restore it first.", "experiment_id");
        }
    }

    private async Task<Caller> AuthorizeAsync(string permission, AuditEvent audit)
    {
        var access = await guard.AuthorizeAsync(_tenantKey, permission, audit);
        TrackingValidation.ProjectId(_projectId);
        _tenantId = access.TenantId;
        return access.Caller;
    }

    private PhantomException NotFound() => PhantomException.NotFound("experiment", _projectId);

    private AuditEvent Event(string action, object? details = null) =>
        new(action == "read" ? "data_access" : "training", "training_project", _projectId, action, AuditEvent.Success, details);
}
