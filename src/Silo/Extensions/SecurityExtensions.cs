using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Npgsql;
using PhantomMl.Grains;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// Who is calling: API keys are authenticated by the grains themselves on every call (so the SDK and HTTP
/// obey the same rules); the HTTP front end only carries the key and client details into the call context.
/// </summary>
public static class SecurityExtensions
{
    /// <summary>
    /// Registers authentication, authorization and the platform-admin bootstrap. Call it before the silo: the cluster
    /// secret must be read before the silo joins the cluster.
    /// </summary>
    public static WebApplicationBuilder AddPhantomSecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SecuritySql>();
        // Read before the silo starts: every call the silo makes carries it, and calls without it are clients' calls.
        builder.Services.AddSingleton<ClusterSecret>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ClusterSecret>());
        builder.Services.AddSingleton<TenantResolver>();
        builder.Services.AddSingleton<InternalCalls>();
        builder.Services.AddSingleton<CredentialEpoch>();
        builder.Services.AddHostedService(services => services.GetRequiredService<CredentialEpoch>());
        builder.Services.AddSingleton<CredentialCache>();
        builder.Services.AddOptions<AuthenticationThrottleOptions>().BindConfiguration(AuthenticationThrottleOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AuthenticationThrottle>();
        builder.Services.AddSingleton(services =>
        {
            var limits = services.GetRequiredService<IOptions<AuthenticationThrottleOptions>>().Value;
            return new FailedAuthenticationLimiter(services.GetRequiredService<TimeProvider>())
            {
                Limit = limits.FailuresPerClient,
                Window = limits.FailedAuthenticationWindow,
            };
        });
        builder.Services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                var limiter = context.RequestServices.GetRequiredService<FailedAuthenticationLimiter>();
                return context.Request.Path.StartsWithSegments("/api")
                    ? RateLimitPartition.Get(address, limiter.For)
                    : RateLimitPartition.GetNoLimiter("unlimited");
            });
            options.OnRejected = (context, _) => throw PhantomException.TooManyFailedAuthentications("client address",
                context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1));
        });
        builder.Services.AddSingleton<CallerAuthenticator>();
        builder.Services.AddSingleton<AccessGuard>();
        builder.Services.AddSingleton<PlatformAdminBootstrap>();
        builder.Services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.SectionName).ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// Turns away client addresses that failed authentication too often (429), then carries the API key, session, client
    /// address, user agent and idempotency key of every /api request into grain calls.
    /// </summary>
    public static WebApplication UsePhantomCallContext(this WebApplication app)
    {
        app.UseRateLimiter();
        app.UseMiddleware<CallContextMiddleware>();
        return app;
    }

    /// <summary>
    /// Issues the first platform-admin key into <see cref="BootstrapOptions.AdminKeyFile"/> when that is set
    /// and holds no valid key. Runs as the schema owner, like migrations.
    /// </summary>
    public static async Task<string?> BootstrapPlatformAdminIfConfiguredAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BootstrapOptions>>().Value;
        if (string.IsNullOrWhiteSpace(options.AdminKeyFile))
        {
            return null;
        }

        var owner = app.Configuration.GetConnectionString("PostgreSqlMigrations");
        if (string.IsNullOrWhiteSpace(owner))
        {
            throw new InvalidOperationException("Phantom:Bootstrap:AdminKeyFile needs ConnectionStrings:PostgreSqlMigrations (the schema owner).");
        }

        await using var ownerSource = NpgsqlDataSource.Create(owner);
        var (key, _) = await app.Services.GetRequiredService<PlatformAdminBootstrap>().EnsureAsync(ownerSource, options.AdminKeyFile,
            options.AdminName);
        return key;
    }
}
