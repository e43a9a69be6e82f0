using System.Text.Json;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Training;

/// <summary>What a job's runner reports: its status, the parameters it uses, its progress.</summary>
public sealed partial class TrainingJobGrain
{
    /// <inheritdoc />
    public async Task<TrainingJobView> ReportStatusAsync(string status, string? errorMessage, string? metricsSummary)
    {
        var audit = Event("report-status", new { status, errorMessage });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (status is not ("running" or "completed" or "failed"))
        {
            throw PhantomException.Invalid("A runner reports running, completed or failed.", "status");
        }

        if (status == "failed" && string.IsNullOrWhiteSpace(errorMessage))
        {
            throw PhantomException.Invalid("A failure needs an errorMessage.", "errorMessage");
        }

        if (errorMessage is { Length: > 8192 })
        {
            throw PhantomException.Invalid("errorMessage is at most 8192 characters.", "errorMessage");
        }

        if (!caller.IsComponent && TrainingRecipe.IsBuiltIn((await LoadAsync()).Config))
        {
            throw PhantomException.Conflict("The built-in trainer reports this job's status itself; cancel it to stop it.");
        }

        return await ChangeAsync(caller, audit, Move(status, errorMessage, TrainingJobValidation.JsonObjectOrNull(metricsSummary, "metricsSummary")),
            afterCommit: status == "running" ? null : PumpAsync);
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> LogParamsAsync(IReadOnlyDictionary<string, string> parameters)
    {
        var audit = Event("log-params", new { keys = parameters?.Keys });
        var caller = await AuthorizeAsync(Permissions.TrainingRun, audit);
        if (parameters is null || parameters.Count is 0 or > 100)
        {
            throw PhantomException.Invalid("Log 1 to 100 parameters at a time.", "params");
        }

        foreach (var (name, value) in parameters)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > 250
                || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ' '))
            {
                throw PhantomException.Invalid("A parameter name is 1 to 250 letters, digits, spaces and _ - . /.", "params");
            }

            if (value is null || value.Length > 6000 || value.Contains('\0'))
            {
                throw PhantomException.Invalid($"Parameter '{name}': a value is at most 6000 characters, without NUL.", "params");
            }
        }

        return await ChangeAsync(caller, audit, async (_, transaction) =>
        {
            var current = await Existing(transaction);
            using var logged = JsonDocument.Parse(current.Hyperparameters ?? "{}");
            foreach (var (name, value) in parameters)
            {
                if (logged.RootElement.TryGetProperty(name, out var existing)
                    && (existing.ValueKind == JsonValueKind.String ? existing.GetString() : existing.GetRawText()) != value)
                {
                    throw PhantomException.Conflict($"Parameter '{name}' was logged as {existing.GetRawText()}; a parameter keeps its first value.");
                }
            }

            return (await trainingSql.MergeParamsAsync(transaction, _jobId, JsonSerializer.Serialize(parameters)))!;
        });
    }

    /// <inheritdoc />
    public async Task<TrainingJobView> ReportProgressAsync(double progress)
    {
        var caller = await AuthorizeAsync(Permissions.TrainingRun, Event("report-progress", new { progress }));
        if (!double.IsFinite(progress) || progress is < 0 or > 1)
        {
            throw PhantomException.Invalid("progress is a number from 0 to 1.", "progress");
        }

        // Progress is frequent and not a change of state: not audited row by row.
        return await ChangeAsync(caller, audit: null, async (_, transaction) =>
            await trainingSql.SetProgressAsync(transaction, _jobId, progress)
            ?? throw PhantomException.Conflict($"Only a running job reports progress; this one is {(await Existing(transaction)).Status}."));
    }
}
