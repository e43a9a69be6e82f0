using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Services;
using Orleans.Services;

namespace PhantomMl.Grains.Security;

/// <summary>One per silo: where a credential change is pushed so that the silo refuses the old rights before the change is acknowledged.</summary>
[Alias("phantomml.security.ICredentialEpochService")]
public interface ICredentialEpochService : IGrainService
{
    /// <summary>Raises this silo's epoch to at least <paramref name="epoch"/>; answers once it has.</summary>
    [Alias("RaiseAsync")] Task RaiseAsync(long epoch);
}

/// <summary>See <see cref="ICredentialEpochService"/>: hands the pushed epoch to the silo's <see cref="CredentialEpoch"/>.</summary>
[Reentrant]
public sealed class CredentialEpochService(GrainId id, Silo silo, ILoggerFactory loggerFactory, CredentialEpoch epoch)
    : GrainService(id, silo, loggerFactory), ICredentialEpochService
{
    /// <inheritdoc />
    public Task RaiseAsync(long value)
    {
        epoch.Raise(value);
        return Task.CompletedTask;
    }
}

/// <summary>Reaches the <see cref="ICredentialEpochService"/> of a given silo.</summary>
public sealed class CredentialEpochPush(IServiceProvider services) : GrainServiceClient<ICredentialEpochService>(services)
{
    /// <summary>Pushes <paramref name="epoch"/> to <paramref name="silo"/>; completes when that silo has taken it.</summary>
    public Task RaiseAsync(SiloAddress silo, long epoch) => GetGrainService(silo).RaiseAsync(epoch);
}
