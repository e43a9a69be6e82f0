using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Inference;

/// <summary>What one run of a batch needs: whose, which batch, the model's artifact, the dataset's artifact, and who asked.</summary>
public sealed record BatchJob(Guid TenantId, Guid BatchId, Guid ModelId, ArtifactView Model, ArtifactView Dataset, string UserId, ModelOwner Owner,
    bool Restart);

/// <summary>
/// Runs a batch inference job on the thread pool: downloads the dataset CSV to a temporary file, counts its rows, then
/// scores it in chunks of <see cref="InferenceOptions.BatchChunkRows"/>, <see cref="InferenceOptions.BatchParallelChunks"/>
/// at a time. Lines are read with bounded memory (<see cref="BoundedLines"/>): a line longer than 1 MiB fails the batch
/// with its number, whatever the file holds. Each chunk's rows are charged against the tenant's inference_rows before
/// they are scored. Chunks are committed in input order, each in one transaction: its inference_jobs rows (carrying the batch
/// id) and the batch's progress together, so progress never counts a row that is not recorded. A row that cannot be
/// scored (wrong number of fields, a value that is not a finite number) goes to the errors file with its row number
/// and the reason. When every
/// chunk is in, the output file (input columns + prediction, confidence) and the errors file are written to the
/// artifact store and the batch completes. A cancelled batch stops at its next chunk; a run whose silo died is
/// started again from the beginning by the batch's reminder (the earlier attempt's rows are removed first).
/// </summary>
public sealed partial class BatchRun(TenantDatabase database, IArtifactStore artifacts, OnnxModelCache models, MonthlyQuotaLeases quota,
    IOptions<InferenceOptions> options, TimeProvider time, InferenceSql inferenceSql, ILogger<BatchRun> logger)
{
    /// <summary>Runs the batch to its end (completed, failed, or stopped because it was cancelled).</summary>
    public async Task RunAsync(BatchJob job, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var input = Path.GetTempFileName();
        var output = Path.GetTempFileName();
        var errors = Path.GetTempFileName();
        try
        {
            if (job.Dataset.SizeBytes > settings.BatchMaxInputBytes)
            {
                throw PhantomException.Invalid($"The dataset is {job.Dataset.SizeBytes} bytes; batches read at most {settings.BatchMaxInputBytes}.",
                    "datasetUri");
            }

            await artifacts.DownloadToFileAsync(job.Dataset.StoragePath, input, cancellationToken);

            var totalRows = BoundedLines.Read(input).Skip(1).LongCount(line => line.Length > 0);
            var inputs = await models.WithModelAsync(job.Owner, job.Model, model => model.Inputs);
            using var lines = BoundedLines.Read(input).GetEnumerator();
            var header = lines.MoveNext() ? CsvFields.Split(lines.Current) : [];
            var missing = inputs.Select(i => i.Name).Where(name => !header.Contains(name)).ToList();
            if (missing.Count > 0)
            {
                throw PhantomException.Invalid($"The dataset has no column for the model's inputs: {string.Join(", ", missing)}.", "datasetUri");
            }

            if (!await database.InTenantAsync(job.TenantId,
                (_, transaction) => inferenceSql.StartAsync(transaction, job.BatchId, totalRows, job.Restart), cancellationToken))
            {
                return; // cancelled before it started
            }

            var columns = inputs.Select(i => (i.Name, Index: Array.IndexOf(header, i.Name))).ToArray();
            await using var outputWriter = new StreamWriter(output, false, new UTF8Encoding(false));
            await using var errorsWriter = new StreamWriter(errors, false, new UTF8Encoding(false));
            await outputWriter.WriteLineAsync($"{lines.Current},prediction,confidence");
            await errorsWriter.WriteLineAsync("row,reason");
            long failed = 0;

            // Chunks are scored ahead (up to BatchParallelChunks) and committed strictly in order.
            var inFlight = new Queue<Task<ScoredChunk>>();
            long rowNumber = 0;
            while (true)
            {
                var chunk = new List<(long Row, string Line)>(settings.BatchChunkRows);
                while (chunk.Count < settings.BatchChunkRows && lines.MoveNext())
                {
                    if (lines.Current.Length > 0)
                    {
                        chunk.Add((++rowNumber, lines.Current));
                    }
                }

                if (chunk.Count > 0)
                {
                    await quota.ConsumeAsync(job.TenantId, Quotas.InferenceRows, chunk.Count,
                        settings.RowQuotaLeaseSize); // admitted before it is scored
                    inFlight.Enqueue(Task.Run(() => ScoreAsync(job, chunk, header.Length, columns), cancellationToken));
                }

                if (inFlight.Count == 0)
                {
                    break;
                }

                if (chunk.Count > 0 && inFlight.Count < settings.BatchParallelChunks)
                {
                    continue;
                }

                var scored = await inFlight.Dequeue();
                if (!await CommitAsync(job, scored, cancellationToken))
                {
                    return; // cancelled: what was committed stays recorded, no output is written
                }

                foreach (var line in scored.OutputLines)
                {
                    await outputWriter.WriteLineAsync(line);
                }

                foreach (var (row, reason) in scored.Failures)
                {
                    await errorsWriter.WriteLineAsync($"{row},{CsvFields.Quote(reason)}");
                }

                failed += scored.Failures.Count;
            }

            await outputWriter.FlushAsync(cancellationToken);
            await errorsWriter.FlushAsync(cancellationToken);
            outputWriter.Close();
            errorsWriter.Close();
            var outputPath = ArtifactKeys.ForBatch(job.TenantId, job.BatchId, "output.csv");
            await PutAsync(outputPath, output, cancellationToken);
            string? errorsPath = null;
            if (failed > 0)
            {
                errorsPath = ArtifactKeys.ForBatch(job.TenantId, job.BatchId, "errors.csv");
                await PutAsync(errorsPath, errors, cancellationToken);
            }

            await database.InTenantAsync(job.TenantId, (_, transaction) =>
                inferenceSql.FinishAsync(transaction, job.BatchId, "completed", ["running"], outputPath, errorsPath), CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: the batch's row already says so.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(e, job.BatchId);
            var reason = e is PhantomException problem ? problem.Detail : $"The batch failed: {e.Message}";
            await database.InTenantAsync(job.TenantId, (_, transaction) =>
                inferenceSql.FinishAsync(transaction, job.BatchId, "failed", ["pending", "running"], error: reason), CancellationToken.None);
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
            File.Delete(errors);
        }
    }

    private async Task<ScoredChunk> ScoreAsync(BatchJob job, List<(long Row, string Line)> chunk, int fieldCount, (string Name, int Index)[] columns)
    {
        var rows = new List<(long Row, string Line, IReadOnlyDictionary<string, double> Values)>(chunk.Count);
        var failures = new List<(long Row, string Reason)>();
        foreach (var (row, line) in chunk)
        {
            var fields = CsvFields.Split(line);
            if (fields.Length != fieldCount)
            {
                failures.Add((row, $"The row has {fields.Length} fields; the header has {fieldCount}."));
                continue;
            }

            var values = new Dictionary<string, double>(columns.Length);
            string? problem = null;
            foreach (var (name, index) in columns)
            {
                if (double.TryParse(fields[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
                {
                    values[name] = value;
                }
                else
                {
                    problem = $"'{name}' is '{(fields[index].Length <= 40 ? fields[index] : fields[index][..40] + "...")}', not a finite number.";
                    break;
                }
            }

            if (problem is null)
            {
                rows.Add((row, line, values));
            }
            else
            {
                failures.Add((row, problem));
            }
        }

        var started = Stopwatch.GetTimestamp();
        var predictions = rows.Count == 0 ? [] : await models.WithModelAsync(job.Owner, job.Model,
            model => model.Run([.. rows.Select(r => r.Values)]));
        var perRowMs = rows.Count == 0 ? 0 : Stopwatch.GetElapsedTime(started).TotalMilliseconds / rows.Count;
        var now = time.GetUtcNow();
        var records = new List<InferenceRecord>(rows.Count);
        var outputLines = new List<string>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var prediction = predictions[i];
            records.Add(new InferenceRecord(Guid.CreateVersion7(), now, job.TenantId, job.ModelId, job.Model.Version, "batch", null,
                job.BatchId.ToString(), job.UserId, null, false, [rows[i].Values], [prediction], perRowMs, job.BatchId));
            outputLines.Add(string.Create(CultureInfo.InvariantCulture, $"{rows[i].Line},{prediction.Prediction:R},{prediction.Confidence:R}"));
        }

        return new ScoredChunk(records, outputLines, failures);
    }

    /// <summary>Records the chunk with the batch's progress; false when the batch was cancelled.</summary>
    private async Task<bool> CommitAsync(BatchJob job, ScoredChunk chunk, CancellationToken cancellationToken)
    {
        try
        {
            return await database.InTenantAsync(job.TenantId, async (_, transaction) =>
            {
                if (chunk.Records.Count > 0)
                {
                    await inferenceSql.InsertRequestsAsync(transaction, chunk.Records, cancellationToken);
                }

                return await inferenceSql.AdvanceAsync(transaction, job.BatchId, chunk.Records.Count, chunk.Failures.Count)
                    ? true
                    : throw new BatchNotRunningException(); // rolls the chunk back
            }, cancellationToken);
        }
        catch (BatchNotRunningException)
        {
            return false;
        }
    }

    private async Task PutAsync(string key, string file, CancellationToken cancellationToken)
    {
        await using var content = File.OpenRead(file);
        await artifacts.PutAsync(key, content, content.Length, cancellationToken);
    }

    private sealed class BatchNotRunningException : Exception;

    private sealed record ScoredChunk(List<InferenceRecord> Records, List<string> OutputLines, List<(long Row, string Reason)> Failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {BatchId} failed")]
    private partial void LogFailed(Exception exception, Guid batchId);
}

/// <summary>The fields of one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes), and quoting for output.</summary>
public static class CsvFields
{
    public static string[] Split(string line)
    {
        if (!line.Contains('"'))
        {
            return line.Split(',');
        }

        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return [.. fields];
    }

    public static string Quote(string text) => text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : $"\"{text.Replace("\"", "\"\"")}\"";
}
