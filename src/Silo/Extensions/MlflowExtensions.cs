using PhantomMl.Silo.Apis.Mlflow;

namespace PhantomMl.Silo.Extensions;

/// <summary>The MLflow-compatible API's services.</summary>
public static class MlflowExtensions
{
    /// <summary>Registers what the MLflow API needs: the key-to-tenant memo.</summary>
    public static WebApplicationBuilder AddPhantomMlflow(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MlflowTenants>();
        return builder;
    }
}
