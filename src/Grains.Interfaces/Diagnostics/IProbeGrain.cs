
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Diagnostics;

/// <summary>
/// A persisted counter per key that reports which silo hosts it: operators and tests use it to see
/// grain placement, failover and state durability across silo restarts without touching tenant data.
/// </summary>
[ClientCallable]
[Alias("phantomml.diagnostics.IProbeGrain")]
public interface IProbeGrain : IGrainWithStringKey
{
    /// <summary>Increments the counter, persists it, and returns the new reading.</summary>
    [Alias("TouchAsync")]
    Task<ProbeReading> TouchAsync();

    /// <summary>Returns the current reading without changing it.</summary>
    [Alias("ReadAsync")]
    Task<ProbeReading> ReadAsync();
}

/// <summary>What a probe grain reports: its persisted count and where it runs now.</summary>
/// <param name="Key">The probe's key.</param>
/// <param name="Count">How many touches were persisted.</param>
/// <param name="Silo">The address of the silo hosting the activation.</param>
/// <param name="ActivatedAt">When this activation started.</param>
[GenerateSerializer, Immutable, Alias("phantomml.diagnostics.ProbeReading")]
public sealed record ProbeReading(string Key, long Count, string Silo, DateTimeOffset ActivatedAt);
