using System.Collections.Concurrent;
using System.Reflection;

namespace PhantomMl.Grains.Security;

/// <summary>What a client of the cluster may call: methods marked <see cref="ClientCallableAttribute"/>, and Orleans' own client protocol.</summary>
public static class ClientSurface
{
    /// <summary>
    /// Orleans interfaces a client uses by itself: the cluster manifest (which grain types exist), fetched by every client
    /// as it connects. Internal to Orleans, so named rather than referenced.
    /// </summary>
    private static readonly HashSet<string> OrleansClientProtocol = new(StringComparer.Ordinal) { "Orleans.Runtime.IClusterManifestSystemTarget" };

    // Keyed by the method's runtime handle, not the MethodInfo: hashing a reflection object by identity takes the runtime's
    // slow path, and this is asked on every grain call.
    private static readonly ConcurrentDictionary<nint, bool> Callable = new();

    /// <summary>Whether a client may call <paramref name="method"/> at all.</summary>
    public static bool AdmitsClients(MethodInfo method) => IsClientCallable(method) || IsOrleansClientProtocol(method);

    /// <summary>
    /// Whether <paramref name="method"/> (or its interface) is marked client-callable and not silo-only: its callers are
    /// authenticated first.
    /// </summary>
    public static bool IsClientCallable(MethodInfo method) => Callable.GetOrAdd(method.MethodHandle.Value, static (_, m) =>
        m.GetCustomAttribute<SiloOnlyAttribute>() is null
        && (m.GetCustomAttribute<ClientCallableAttribute>() is not null
            || m.DeclaringType?.GetCustomAttribute<ClientCallableAttribute>() is not null), method);

    /// <summary>
    /// Whether <paramref name="request"/> is a timer tick the silo's runtime delivered to one of its own grains or grain
    /// services. Orleans hands a tick to the activation as a message that passes the incoming filters but not the outgoing
    /// ones, so it carries no origin mark; its body is a private runtime type that has no serializer, so it can only have
    /// been made inside this process, never received from a client.
    /// </summary>
    public static bool IsLocalTimerTick(object? request) =>
        request?.GetType() is { FullName: "Orleans.Runtime.GrainTimer+TimerTickInvoker" } type && type.Assembly.GetName().Name == "Orleans.Runtime";

    /// <summary>Whether <paramref name="method"/> belongs to what every Orleans client calls by itself.</summary>
    public static bool IsOrleansClientProtocol(MethodInfo method) => method.DeclaringType?.FullName is { } name
        && OrleansClientProtocol.Contains(name);
}
