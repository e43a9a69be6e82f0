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

    /// <summary>How long a silo trusts what a label, alias or "active" resolved to. Default 5 seconds.</summary>
    public TimeSpan ResolutionTtl { get; set; } = TimeSpan.FromSeconds(5);
}
