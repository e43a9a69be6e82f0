using PhantomMl.Grains.Adapters.Elasticsearch;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Security;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The Audit area: the append-only trail every change and every refused attempt writes to, its hash chain with signed
/// digests, its full-text search, and the data lineage the platform writes beside it.
/// </summary>
public static class AuditExtensions
{
    /// <summary>
    /// Registers the trail, the chain and its signer (keys checked at start-up), and the search backend: Elasticsearch
    /// when <c>ConnectionStrings:Elasticsearch</c> is set, else PostgreSQL.
    /// </summary>
    public static WebApplicationBuilder AddPhantomAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AuditSql>();
        builder.Services.AddSingleton<AuditedChanges>();
        builder.Services.AddSingleton<IAccessAudit, AccessAuditTrail>();
        builder.Services.AddSingleton<AuditChainSql>();
        builder.Services.AddSingleton<AuditSigner>();
        builder.Services.AddSingleton<AuditChainVerifier>();
        if (builder.Configuration.GetConnectionString("Elasticsearch") is { Length: > 0 } elasticsearch)
        {
            builder.Services.AddSingleton(_ => ElasticsearchConnection.Client(elasticsearch));
            builder.Services.AddSingleton<IAuditSearch, ElasticsearchAuditSearch>();
        }
        else
        {
            builder.Services.AddSingleton<IAuditSearch, PostgreSqlAuditSearch>();
        }

        builder.Services.AddSingleton<LineageSql>();
        return builder;
    }
}
