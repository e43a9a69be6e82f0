namespace PhantomMl.Grains.Diagnostics;

/// <summary>See <see cref="IProbeGrain"/>. State lives in the default (PostgreSQL) grain storage.</summary>
public sealed class ProbeGrain(
    [PersistentState("probe")] IPersistentState<ProbeState> state,
    ILocalSiloDetails siloDetails) : Grain, IProbeGrain
{
    private readonly DateTimeOffset _activatedAt = DateTimeOffset.UtcNow;

    /// <inheritdoc />
    public async Task<ProbeReading> TouchAsync()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        PhantomInstruments.ProbeTouches.Add(1);
        return Reading();
    }

    /// <inheritdoc />
    public Task<ProbeReading> ReadAsync() => Task.FromResult(Reading());

    private ProbeReading Reading() =>
        new(this.GetPrimaryKeyString(), state.State.Count, siloDetails.SiloAddress.ToParsableString(), _activatedAt);
}
