using System.Text.Json.Nodes;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Moves <c>alias</c> of <c>model</c> to <c>version</c>, or activates the version when no alias is named, once the
/// version meets every minimum in <c>require</c> (metric → least value; not met: the execution fails, not retried).
/// The model's ETag is read just before the change, so a concurrent edit makes the attempt retry rather than overwrite.
/// </summary>
public sealed class PromoteAction(PlatformCalls platform) : IAgentAction
{
    /// <inheritdoc />
    public string Type => "promote";

    /// <inheritdoc />
    public string? RequiredPermission => Permissions.ModelsWrite;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        settings.OptionalString("model");
        settings.OptionalString("version", 50);
        settings.OptionalString("alias", 50);
        foreach (var (name, value) in settings.OptionalObject("require") ?? [])
        {
            if (value?.GetValueKind() != System.Text.Json.JsonValueKind.Number)
            {
                throw PhantomException.Invalid($"require.{name} must be a number (the least value of the metric).", $"require.{name}");
            }
        }
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        var model = platform.Grains.Model(run.TenantKey, settings.String("model"));
        var version = await platform.CallAsync(_ => model.GetVersionAsync(settings.String("version", 50)));
        foreach (var (metric, least) in settings.OptionalObject("require") ?? [])
        {
            var value = version.PerformanceMetrics.TryGetValue(metric, out var found) ? found : (double?)null;
            if (value is null || value < least!.GetValue<double>())
            {
                return new AgentOutcome.Failed($"Version {version.Version} does not meet {metric} >= {least}: it has {value?.ToString() ?? "none"}.",
                    Retryable: false);
            }
        }

        var alias = settings.OptionalString("alias", 50);
        var current = await platform.CallAsync(_ => model.GetAsync());
        var promoted = alias is null
            ? await platform.CallAsync(_ => model.ActivateVersionAsync(version.Version, current.ETag))
            : await platform.CallAsync(_ => model.SetAliasAsync(alias, version.Version, current.ETag));
        run.Log.Info(alias is null ? $"Activated version {version.Version}" : $"Moved alias {alias} to version {version.Version}");
        return new AgentOutcome.Completed(new JsonObject
        {
            ["model"] = promoted.Name, ["version"] = version.Version, ["alias"] = alias, ["activeVersion"] = promoted.ActiveVersion,
        });
    }
}
