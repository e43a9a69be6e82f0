namespace PhantomMl.Grains.Diagnostics;

/// <summary>Persisted state of a <see cref="ProbeGrain"/>.</summary>
[GenerateSerializer, Alias("phantomml.diagnostics.ProbeState")]
public sealed class ProbeState
{
    /// <summary>How many touches were persisted.</summary>
    [Id(0)] public long Count { get; set; }
}
