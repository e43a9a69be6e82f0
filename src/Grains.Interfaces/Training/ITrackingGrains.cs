using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>
/// One project of training jobs of one tenant (key: <c>tenantKey/projectId</c>), MLflow's experiment. Its activation
/// serialises the project's changes. Project "0" is the tenant's Default project, made on first use.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrainingProjectGrain")]
public interface ITrainingProjectGrain : IGrainWithStringKey
{
    /// <summary>Creates the project; a name in use in the tenant (deleted projects included) is 409.</summary>
    [Alias("CreateAsync")] Task<ProjectView> CreateAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags);

    /// <summary>Reads the project (deleted ones too: MLflow's get-experiment answers them).</summary>
    [Alias("GetAsync")] Task<ProjectView> GetAsync();

    /// <summary>Renames the project.</summary>
    [Alias("RenameAsync")] Task<ProjectView> RenameAsync(string newName);

    /// <summary>Sets one tag.</summary>
    [Alias("SetTagAsync")] Task<ProjectView> SetTagAsync(string key, string value);

    /// <summary>Deletes the project and its active runs (restorable), or restores it and the runs deleted with it.</summary>
    [Alias("SetDeletedAsync")] Task<ProjectView> SetDeletedAsync(bool deleted);
}

/// <summary>
/// Reads across a tenant's projects and runs (key: tenant key): find by name, search with MLflow's filter grammar.
/// Stateless: reads scale out.
/// </summary>
[ClientCallable]
[Alias("phantomml.training.ITrackingCatalogGrain")]
public interface ITrackingCatalogGrain : IGrainWithStringKey
{
    /// <summary>The project of that name (404 when none).</summary>
    [Alias("GetProjectByNameAsync")] Task<ProjectView> GetProjectByNameAsync(string name);

    /// <summary>Projects matching the search, a page at a time.</summary>
    [Alias("SearchProjectsAsync")] Task<ProjectPage> SearchProjectsAsync(ProjectSearch search);

    /// <summary>Runs of the given projects matching the search, a page at a time.</summary>
    [Alias("SearchRunsAsync")] Task<RunPage> SearchRunsAsync(RunSearch search);
}
