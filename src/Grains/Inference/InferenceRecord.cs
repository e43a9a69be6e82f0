namespace PhantomMl.Grains.Inference;

/// <summary>
/// What one request (or one batch row) did: recorded as an inference_jobs row in PostgreSQL and one inference_metrics
/// row per prediction in ClickHouse. <see cref="Route"/> is primary, challenger, shadow or batch.
/// </summary>
public sealed record InferenceRecord(
    Guid Id,
    DateTimeOffset At,
    Guid TenantId,
    Guid ModelId,
    string Version,
    string Route,
    string? Alias,
    string RequestId,
    string UserId,
    string? SessionId,
    bool Cached,
    IReadOnlyList<IReadOnlyDictionary<string, double>> Rows,
    IReadOnlyList<RowPrediction> Predictions,
    double InferenceMs,
    Guid? BatchId = null)
{
    /// <summary>The mean confidence of the predictions that have one; null when none has.</summary>
    public double? MeanConfidence
    {
        get
        {
            var confidences = Predictions.Where(p => p.Confidence is not null).Select(p => p.Confidence!.Value).ToList();
            return confidences.Count == 0 ? null : confidences.Average();
        }
    }
}
