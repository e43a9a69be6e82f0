namespace PhantomMl.Grains.Inference;

/// <summary>Model serving. Section <c>Phantom:Inference</c>.</summary>
public sealed class InferenceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Inference";

    /// <summary>
    /// Memory the loaded models of one silo may take (estimated as twice the ONNX size); least recently used models are
    /// unloaded beyond it. Default 512 MiB.
    /// </summary>
    public long SessionBudgetBytes { get; set; } = 512L << 20;

    /// <summary>Micro-batching: most rows scored in one ONNX Runtime call. Default 512.</summary>
    public int MaxBatchRows { get; set; } = 512;

    /// <summary>
    /// Micro-batching: how long a request may wait for others to join its batch. Default 1 ms: under load, batches
    /// form while the previous one runs; a lone request barely waits.
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>How long answers for identical inputs are kept in Redis; zero turns the result cache off. Default 10 minutes.</summary>
    public TimeSpan ResultCacheTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a silo trusts what a label, alias or "active" resolved to. Default 5 seconds.</summary>
    public TimeSpan ResolutionTtl { get; set; } = TimeSpan.FromSeconds(5);
}
