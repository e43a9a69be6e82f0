namespace PhantomMl.Grains.Security;

/// <summary>
/// The caller <see cref="ClientCallGate"/> authenticated for the call being served, so the grain's own authorization
/// does not authenticate the same credential twice. Only valid while the call context still carries the credential it
/// was read from: code that switches to a component's identity (<see cref="InternalCalls"/>) is authenticated afresh.
/// </summary>
public static class AuthenticatedCall
{
    private static readonly AsyncLocal<(Caller Caller, string Credential)?> Current = new();

    /// <summary>The authenticated caller of the current call, if the gate authenticated it with the credential the context carries now.</summary>
    public static Caller? Caller => Current.Value is { } entry && entry.Credential == Credential() ? entry.Caller : null;

    /// <summary>Serves the rest of the call as <paramref name="caller"/>.</summary>
    public static void Enter(Caller caller) => Current.Value = (caller, Credential());

    private static string Credential() => string.Join('\n', RequestContext.Get(CallContext.ApiKey) as string,
        RequestContext.Get(CallContext.InternalSecret) as string, RequestContext.Get(CallContext.Component) as string);
}
