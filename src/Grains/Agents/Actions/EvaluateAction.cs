using System.Text.Json.Nodes;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// Compares a version's metric (<c>model</c>, <c>version</c>, <c>metric</c>, default accuracy) with a <c>threshold</c>
/// and, with <c>compareWithActive</c>, with the model's active version; <c>lowerIsBetter</c> for errors. Completes either
/// way with <c>passed</c> true or false, so a later step's condition decides; a version without the metric fails.
/// </summary>
public sealed class EvaluateAction(PlatformCalls platform) : IAgentAction
{
    /// <inheritdoc />
    public string Type => "evaluate";

    /// <inheritdoc />
    public string? RequiredPermission => Permissions.ModelsRead;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        settings.OptionalString("model");
        settings.OptionalString("version", 50);
        settings.OptionalString("metric", 100);
        settings.OptionalNumber("threshold", double.MinValue, double.MaxValue);
        settings.OptionalBoolean("compareWithActive");
        settings.OptionalBoolean("lowerIsBetter");
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        var modelName = settings.String("model");
        var metric = settings.OptionalString("metric", 100) ?? "accuracy";
        var lowerIsBetter = settings.OptionalBoolean("lowerIsBetter") ?? false;
        var model = platform.Grains.Model(run.TenantKey, modelName);
        var candidate = await platform.CallAsync(_ => model.GetVersionAsync(settings.String("version", 50)));
        var value = MetricOf(candidate, metric) ?? throw new AgentFailure($"Version {candidate.Version} has no metric '{metric}'.", retryable: false);
        bool Better(double a, double b) => lowerIsBetter ? a <= b : a >= b;

        var passed = true;
        var output = new JsonObject { ["model"] = modelName, ["version"] = candidate.Version, ["metric"] = metric, ["value"] = value };
        if (settings.OptionalNumber("threshold", double.MinValue, double.MaxValue) is { } threshold)
        {
            output["threshold"] = threshold;
            passed &= Better(value, threshold);
        }

        if (settings.OptionalBoolean("compareWithActive") == true)
        {
            var active = (await platform.CallAsync(_ => model.GetAsync())).ActiveVersion;
            var baseline = active is null || active == candidate.Version ? null : await platform.CallAsync(_ => model.GetVersionAsync(active));
            output["baselineVersion"] = baseline?.Version;
            if (baseline is not null && MetricOf(baseline, metric) is { } baselineValue)
            {
                output["baselineValue"] = baselineValue;
                passed &= Better(value, baselineValue);
            }
        }

        output["passed"] = passed;
        run.Log.Info(passed ? "Evaluation passed" : "Evaluation did not pass", output.DeepClone());
        return new AgentOutcome.Completed(output);
    }

    private static double? MetricOf(ModelVersionView version, string metric) =>
        version.PerformanceMetrics.TryGetValue(metric, out var value) ? value : metric switch
        {
            "accuracy" => version.Accuracy,
            "precision" => version.Precision,
            "recall" => version.Recall,
            "f1" => version.F1,
            _ => null,
        };
}
