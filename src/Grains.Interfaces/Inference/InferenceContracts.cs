namespace PhantomMl.Grains.Inference;

/// <summary>
/// Rows to score: each maps the model's input names (its feature columns) to numbers. Every row must name exactly
/// the model's inputs.
/// </summary>
/// <remarks><see cref="BypassCache"/> scores them afresh instead of answering from the result cache.</remarks>
[GenerateSerializer, Immutable, Alias("phantomml.inference.PredictRequest")]
public sealed record PredictRequest([property: Id(0)] IReadOnlyList<IReadOnlyDictionary<string, double>> Rows, [property: Id(1)] bool BypassCache = false);

/// <summary>
/// One row's answer: the prediction (the class as 0/1 for a binary classifier, the value for a regressor), the
/// confidence (the probability of the predicted class) where the model has one, and every numeric output by name.
/// </summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.RowPrediction")]
public sealed record RowPrediction(
    [property: Id(0)] double Prediction,
    [property: Id(1)] double? Confidence,
    [property: Id(2)] IReadOnlyDictionary<string, double> Outputs);

/// <summary>The answers, the version that gave them, the time the model took, and whether they came from the result cache.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.PredictionView")]
public sealed record PredictionView(
    [property: Id(0)] string Model,
    [property: Id(1)] string Version,
    [property: Id(2)] IReadOnlyList<RowPrediction> Predictions,
    [property: Id(3)] double InferenceMs,
    [property: Id(4)] bool Cached = false);

/// <summary>One input the model expects.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.inference.ModelInput")]
public sealed record ModelInput([property: Id(0)] string Name, [property: Id(1)] string ElementType, [property: Id(2)] IReadOnlyList<int> Shape);

/// <summary>Serves predictions from registered models' ONNX artifacts. A stateless worker: every silo serves.</summary>
[Alias("phantomml.inference.IPredictionGrain")]
public interface IPredictionGrain : IGrainWithIntegerKey
{
    /// <summary>Most rows in one request.</summary>
    const int MaxRows = 10_000;

    /// <summary>Scores rows with a version, addressed by label or alias (or "active").</summary>
    [Alias("PredictAsync")] Task<PredictionView> PredictAsync(string tenantKey, string model, string versionOrAlias, PredictRequest request);

    /// <summary>The inputs a version's model expects.</summary>
    [Alias("DescribeAsync")] Task<IReadOnlyList<ModelInput>> DescribeAsync(string tenantKey, string model, string versionOrAlias);
}
