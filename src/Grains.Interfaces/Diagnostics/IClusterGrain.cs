
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Diagnostics;

/// <summary>
/// What operators ask of the cluster itself, for platform admins (<c>cluster:operate</c>) over HTTP or the SDK. Orleans'
/// own management grain answers the same and more, but it authorizes nobody, so clients may not call it.
/// </summary>
[ClientCallable]
[Alias("phantomml.diagnostics.IClusterGrain")]
public interface IClusterGrain : IGrainWithIntegerKey
{
    /// <summary>The silos that are members of the cluster now.</summary>
    [Alias("GetSilosAsync")] Task<IReadOnlyList<SiloInfo>> GetSilosAsync();
}

/// <summary>One cluster member.</summary>
[GenerateSerializer, Immutable, Alias("phantomml.diagnostics.SiloInfo")]
public sealed record SiloInfo(
    [property: Id(0)] string Address,
    [property: Id(1)] string Name,
    [property: Id(2)] string HostName,
    [property: Id(3)] string Status,
    [property: Id(4)] DateTime StartedAt);
