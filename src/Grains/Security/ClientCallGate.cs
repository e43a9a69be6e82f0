using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Analytics;

namespace PhantomMl.Grains.Security;

/// <summary>
/// The silo's gate for every incoming grain call. A call that does not carry the cluster's origin mark came from a
/// client of the cluster (the SDK, or anything else that reached a gateway): it may only call what
/// <see cref="ClientSurface"/> admits, anything else is refused with 403 (and logged); what it says about its network
/// address or about being a platform component is dropped, since neither can be checked. Every call to a
/// client-callable method, from a client or from a silo, is authenticated here before the grain does any work (401, or
/// 429 after too many failures); the grain then authorizes the caller it finds in <see cref="AuthenticatedCall"/>.
/// </summary>
public sealed partial class ClientCallGate(ClusterSecret secret, CallerAuthenticator authenticator, ServiceMetrics metrics,
    ILogger<ClientCallGate> logger) : IIncomingGrainCallFilter
{
    // Operation names per method, keyed by the method's runtime handle: a MethodInfo key would hash by object identity,
    // which for reflection objects takes the runtime's slow path (measured: a quarter of a no-op grain call's own time).
    // Null for methods that are not the platform's (Orleans' own protocol), which are not measured.
    private static readonly ConcurrentDictionary<nint, string?> Operations = new();

    /// <inheritdoc />
    public Task Invoke(IIncomingGrainCallContext context) =>
        GateAsync(context, metrics.Enabled && context.InterfaceMethod is { } method ? OperationOf(method) : null);

    private static string? OperationOf(MethodInfo method) =>
        Operations.GetOrAdd(method.MethodHandle.Value, static (_, method) =>
            method.DeclaringType?.Namespace?.StartsWith("PhantomMl.", StringComparison.Ordinal) == true
                ? $"{method.DeclaringType.Name}.{method.Name}" : null, method);

    // One async method for the gate and the measurement (no second state machine per call): a call with an operation name
    // is measured here, where the authenticated caller, and so the call's tenant, is known.
    private async Task GateAsync(IIncomingGrainCallContext context, string? operation)
    {
        var started = operation is null ? 0 : Stopwatch.GetTimestamp();
        var outcome = CallOutcome.ServerError;
        Guid? tenant = null;
        try
        {
            var fromSilo = secret.Matches(RequestContext.Get(CallContext.Origin) as string) || ClientSurface.IsLocalTimerTick(context.Request);
            var method = context.InterfaceMethod;
            if (!fromSilo)
            {
                if (!ClientSurface.AdmitsClients(method))
                {
                    if (context.SourceId is { } source && !GrainTypePrefix.IsClient(source))
                    {
                        // Not proof of anything (a client may write any sender), but worth an error: it is what a silo's own
                        // call would look like if it reached the gate without the origin mark.
                        LogRefusedNonClient(context.InterfaceName, context.MethodName, source.ToString());
                    }
                    else
                    {
                        LogRefused(context.InterfaceName, context.MethodName, context.SourceId?.ToString());
                    }

                    throw PhantomException.NotClientCallable(context.InterfaceName, context.MethodName);
                }

                RequestContext.Remove(CallContext.InternalSecret);
                RequestContext.Remove(CallContext.Component);
                RequestContext.Remove(CallContext.ClientAddress);
                RequestContext.Set(CallContext.ClientConnection, context.SourceId?.ToString() ?? "unknown-client");
            }

            if (!ClientSurface.IsClientCallable(method))
            {
                await context.Invoke(); // a silo calling an internal method (which authorizes itself), or Orleans' own protocol
                outcome = CallOutcome.Success;
                return;
            }

            var caller = await authenticator.AuthenticateAsync();
            AuthenticatedCall.Enter(caller);
            tenant = caller.TenantId;
            try
            {
                await context.Invoke();
                outcome = CallOutcome.Success;
            }
            catch (PostgresException e) when (DatabaseErrors.AsProblem(e) is { } problem)
            {
                throw problem; // a value the grain's own checks missed: the caller's error, not a 500
            }
        }
        catch (PhantomException e) when (e.Status < 500)
        {
            outcome = CallOutcome.ClientError;
            throw;
        }
        finally
        {
            if (operation is not null)
            {
                metrics.Record(ServiceMetrics.GrainService, operation, new TenantAttribution(tenant, null), started, outcome);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused a client's call to {Interface}.{Method} (client {Client}): not part of the client surface")]
    private partial void LogRefused(string @interface, string method, string? client);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Refused an unmarked call to {Interface}.{Method} from {Source}, which is not a client: a forged sender, or a silo's own " +
            "message that missed the origin mark")]
    private partial void LogRefusedNonClient(string @interface, string method, string source);
}
