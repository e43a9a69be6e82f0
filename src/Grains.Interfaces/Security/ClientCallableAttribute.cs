namespace PhantomMl.Grains.Security;

/// <summary>
/// Marks a grain interface method, or every method of an interface, as callable by clients of the cluster (the SDK).
/// A silo refuses a client's call to anything not marked (Orleans' management grain, reminders, the platform's
/// scheduling, maintenance and internal methods), and authenticates the caller of a marked method before the grain
/// does any work. Calls made by the silos themselves (grains, the HTTP front end) are not restricted by it.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Interface, Inherited = false)]
public sealed class ClientCallableAttribute : Attribute;

/// <summary>
/// Marks a method of a <see cref="ClientCallableAttribute"/> interface that only the silos call (scheduling, recovery,
/// completing what another grain measured): a client's call to it is refused like any call outside the client surface.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class SiloOnlyAttribute : Attribute;
