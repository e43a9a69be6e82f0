using System.Reflection;
using PhantomMl.Client;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Maintenance;
using PhantomMl.Grains.Models;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Security;

/// <summary>
/// What a client of the cluster (the SDK, or anything that reaches a gateway) can call: only methods marked client-callable,
/// each authenticated before it does anything; Orleans' management grain, reminders, the dashboard's grains and every
/// scheduling, maintenance and internal method refuse clients altogether, whoever they are.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class ClientSurfaceTests(PlatformSiloFixture platform) : IClassFixture<PlatformSiloFixture>
{
    [Fact]
    public async Task Every_grain_method_refuses_a_client_without_a_key_or_refuses_clients_altogether()
    {
        await using var anonymous = await ConnectAsync(apiKey: null);
        var checkedMethods = 0;
        var refusedAltogether = new List<string>();
        foreach (var grainInterface in GrainInterfaces())
        {
            var reference = Reference(anonymous.Grains, grainInterface);
            foreach (var method in grainInterface.GetMethods())
            {
                var error = await CallAsync(reference, method);
                var expected = ClientSurface.IsClientCallable(method) ? 401 : 403;
                Assert.True(error?.Status == expected,
                    $"{grainInterface.Name}.{method.Name}: expected {expected}, got {(error is null ? "success" : $"{error.Status} {error.Type}")}");
                if (expected == 403)
                {
                    Assert.EndsWith("not-client-callable", error!.Type);
                    refusedAltogether.Add($"{grainInterface.Name}.{method.Name}");
                }

                checkedMethods++;
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{checkedMethods} methods checked; refused to clients altogether: {string.Join(", ", refusedAltogether)}");
        Assert.Contains("IManagementGrain.GetHosts", refusedAltogether);
        Assert.Contains("IManagementGrain.ForceActivationCollection", refusedAltogether);
        Assert.Contains("IModelGrain.CompleteArtifactUploadAsync", refusedAltogether);
        Assert.Contains("ITrainingWatchdogGrain.EnsureScheduledAsync", refusedAltogether);
        Assert.Contains("IRemindable.ReceiveReminder", refusedAltogether);
        Assert.True(checkedMethods > 80, $"only {checkedMethods} methods found: the reflection missed interfaces");
    }

    [Fact]
    public async Task The_silos_own_timer_ticks_pass_the_gate()
    {
        // Orleans delivers a timer tick (of a grain, or of a grain service such as the dashboard's, which ticks every
        // second) as a message that never passes the outgoing filters, so it has no origin mark. Refusing it as a client
        // call stopped those timers silently.
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        var refusedInternal = platform.Silo.LogLines().Where(line => line.Contains("IGrainTimerInvoker", StringComparison.Ordinal)
            || line.Contains("which is not a client", StringComparison.Ordinal)).ToList();
        Assert.True(refusedInternal.Count == 0, string.Join('\n', refusedInternal.Take(5)));
    }

    [Fact]
    public async Task A_platform_admin_too_is_refused_the_management_grain_and_the_internal_methods_but_gets_the_operator_calls()
    {
        await using var admin = await ConnectAsync(platform.Silo.AdminKey);
        var token = TestContext.Current.CancellationToken;
        var management = admin.Grains.GetGrain<IManagementGrain>(0);
        foreach (Func<Task> call in new Func<Task>[]
                 {
                     () => management.GetHosts(),
                     () => management.GetDetailedGrainStatistics(),
                     () => management.ForceActivationCollection(TimeSpan.Zero),
                     () => admin.Grains.GetGrain<IPartitionMaintenanceGrain>(IPartitionMaintenanceGrain.ClusterKey).EnsureScheduledAsync(),
                     () => admin.Grains.GetGrain<IArtifactSweepGrain>(IArtifactSweepGrain.ClusterKey).EnsureScheduledAsync(),
                     () => admin.Grains.GetGrain<ITrainingWatchdogGrain>(ITrainingWatchdogGrain.ClusterKey).EnsureScheduledAsync(),
                     () => admin.Grains.GetGrain<ITrainingSchedulerGrain>("any").PumpAsync(),
                     () => admin.Grains.TrainingJob("any", Guid.NewGuid()).RecoverAsync(DateTimeOffset.UtcNow),
                     () => admin.Grains.Model("any", "m").CompleteArtifactUploadAsync(Guid.NewGuid(), -5, new string('0', 64), null),
                 })
        {
            var error = await Assert.ThrowsAsync<PhantomException>(call);
            Assert.Equal(403, error.Status);
        }

        // What operators need is there, authorized: the silos, the maintenance passes.
        var silos = await admin.GetSilosAsync(token);
        Assert.Single(silos);
        Assert.Equal("Active", silos[0].Status);
        await admin.Grains.GetGrain<IPartitionMaintenanceGrain>(IPartitionMaintenanceGrain.ClusterKey).RunAsync();

        // A tenant admin gets none of the operator calls.
        var (_, tenantKey) = await platform.CreateTenantWithAdminAsync("surface");
        await using var tenantAdmin = await ConnectAsync(tenantKey);
        Assert.Equal(403, (await Assert.ThrowsAsync<PhantomException>(() => tenantAdmin.GetSilosAsync(token))).Status);
    }

    [Fact]
    public async Task The_SDK_finds_the_cluster_through_a_static_gateway_list_without_any_database_login()
    {
        await using var admin = await PhantomClient.ConnectAsync(new PhantomClientOptions
        {
            Gateways = [$"127.0.0.1:{platform.Silo.Endpoints.GatewayPort}"],
            ClusterId = platform.ClusterId,
            ApiKey = platform.Silo.AdminKey,
        }, TestContext.Current.CancellationToken);

        Assert.Single(await admin.GetSilosAsync(TestContext.Current.CancellationToken));
        var token = TestContext.Current.CancellationToken;
        await Assert.ThrowsAsync<ArgumentException>(() => PhantomClient.ConnectAsync(new PhantomClientOptions { Gateways = ["a:1"], MembershipConnectionString = "x" }, token));
        await Assert.ThrowsAsync<ArgumentException>(() => PhantomClient.ConnectAsync(new PhantomClientOptions(), token));
    }

    private Task<PhantomClient> ConnectAsync(string? apiKey) => PhantomClient.ConnectAsync(new PhantomClientOptions
    {
        MembershipConnectionString = platform.Databases.Membership,
        ClusterId = platform.ClusterId,
        ApiKey = apiKey,
    }, TestContext.Current.CancellationToken);

    /// <summary>Every grain interface of the platform, Orleans' management grain and reminders, and the dashboard's grains.</summary>
    private static IEnumerable<Type> GrainInterfaces()
    {
        static bool IsGrain(Type type) => type.IsInterface && type.IsPublic && typeof(IGrain).IsAssignableFrom(type)
            && new[] { typeof(IGrainWithStringKey), typeof(IGrainWithIntegerKey), typeof(IGrainWithGuidKey) }.Any(key => key.IsAssignableFrom(type))
            && type != typeof(IGrainWithStringKey) && type != typeof(IGrainWithIntegerKey) && type != typeof(IGrainWithGuidKey);

        var platformInterfaces = typeof(IModelGrain).Assembly.GetTypes().Where(IsGrain).ToList();
        Assert.Contains(typeof(IPredictionGrain), platformInterfaces);
        var dashboard = Assembly.Load("Orleans.Dashboard").GetTypes().Where(IsGrain).ToList();
        return platformInterfaces.Concat(dashboard).Append(typeof(IManagementGrain)).Append(typeof(IRemindable)).Distinct();
    }

    private static IAddressable Reference(IGrainFactory grains, Type grainInterface) =>
        grainInterface == typeof(IRemindable) ? grains.Batch("surface-test", Guid.NewGuid()).AsReference<IRemindable>()
        : typeof(IGrainWithStringKey).IsAssignableFrom(grainInterface) ? grains.GetGrain(grainInterface, $"surface-test/{Guid.NewGuid():N}")
        : typeof(IGrainWithGuidKey).IsAssignableFrom(grainInterface) ? grains.GetGrain(grainInterface, Guid.NewGuid())
        : grains.GetGrain(grainInterface, 0L);

    /// <summary>Calls the method with default arguments; the platform's error, or null when it succeeded.</summary>
    private static async Task<PhantomException?> CallAsync(IAddressable reference, MethodInfo method)
    {
        // A generic method is called with its constraint (or object) as type argument: the gate sees the same interface method either way.
        method = method.IsGenericMethodDefinition
            ? method.MakeGenericMethod([.. method.GetGenericArguments().Select(argument => argument.GetGenericParameterConstraints().FirstOrDefault() ?? typeof(object))])
            : method;
        var arguments = method.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
        try
        {
            var result = method.Invoke(reference, arguments);
            var task = result switch
            {
                Task t => t,
                ValueTask v => v.AsTask(),
                _ when result?.GetType().GetMethod("AsTask") is { } asTask => (Task)asTask.Invoke(result, null)!,
                _ => Task.CompletedTask,
            };
            await task.WaitAsync(TimeSpan.FromSeconds(30));
            return null;
        }
        catch (TargetInvocationException e) when (e.InnerException is PhantomException problem)
        {
            return problem;
        }
        catch (PhantomException problem)
        {
            return problem;
        }
    }
}
