using PhantomMl.Grains.Adapters.FileSystem;
using PhantomMl.Grains.Adapters.S3;
using PhantomMl.Grains.Models;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The artifact store: S3 when <c>ConnectionStrings:S3</c> is set (every silo then shares it), otherwise a
/// folder, <c>Phantom:Artifacts:Root</c> (scripts/run.sh: <c>.phantom/artifacts</c>), which only suits one machine.
/// </summary>
public static class ArtifactStoreExtensions
{
    /// <summary>Registers <see cref="IArtifactStore"/>.</summary>
    public static WebApplicationBuilder AddPhantomArtifactStore(this WebApplicationBuilder builder)
    {
        var s3 = builder.Configuration.GetConnectionString("S3");
        if (!string.IsNullOrWhiteSpace(s3))
        {
            builder.Services.AddSingleton<IArtifactStore>(new S3ArtifactStore(s3));
            return builder;
        }

        var root = builder.Configuration["Phantom:Artifacts:Root"];
        root = Path.GetFullPath(string.IsNullOrWhiteSpace(root) ? Path.Combine(builder.Environment.ContentRootPath, "artifacts") : root);
        builder.Services.AddSingleton<IArtifactStore>(new FileSystemArtifactStore(root));
        return builder;
    }
}
