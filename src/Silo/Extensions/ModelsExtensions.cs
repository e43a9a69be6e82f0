using PhantomMl.Grains.Adapters.FileSystem;
using PhantomMl.Grains.Adapters.Redis;
using PhantomMl.Grains.Adapters.S3;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Models area: the registry's SQL, its Redis cache, and the artifact store.</summary>
public static class ModelsExtensions
{
    /// <summary>
    /// Registers the registry. Artifacts go to S3 when <c>ConnectionStrings:S3</c> is set (every silo then shares it),
    /// otherwise to a folder (<see cref="ArtifactStoreOptions"/>), which only suits one machine.
    /// </summary>
    public static WebApplicationBuilder AddPhantomModels(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ModelSql>();
        builder.Services.AddSingleton<IModelCache, RedisModelCache>();

        var s3 = builder.Configuration.GetConnectionString("S3");
        if (!string.IsNullOrWhiteSpace(s3))
        {
            builder.Services.AddSingleton<IArtifactStore>(new S3ArtifactStore(s3));
            return builder;
        }

        var root = builder.Configuration.GetSection(ArtifactStoreOptions.SectionName).Get<ArtifactStoreOptions>()?.Root;
        root = Path.GetFullPath(string.IsNullOrWhiteSpace(root) ? Path.Combine(builder.Environment.ContentRootPath, "artifacts") : root);
        builder.Services.AddSingleton<IArtifactStore>(new FileSystemArtifactStore(root));
        return builder;
    }
}
