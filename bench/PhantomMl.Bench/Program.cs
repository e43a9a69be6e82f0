// Registry benchmarks (issue 4), run by scripts/bench.sh against a silo on a fresh database:
//  1. 64 concurrent writers doing read-modify-write on one model: the grain design (optimistic ETags,
//     serialised by the model's activation) against the design document's own approach (Redis lock +
//     SELECT ... FOR UPDATE), implemented faithfully here only as the baseline.
//  2. Registry search latency with 100,000 models across 100 tenants, and the plan of the list query.
using PhantomMl.Bench;

var settings = BenchSettings.FromEnvironment();
await using var platform = await BenchPlatform.ConnectAsync(settings);

Console.WriteLine($"== Concurrent updates of one model: {settings.Writers} writers for {settings.Duration.TotalSeconds:F0} s each way");
var grain = await ContendedUpdates.RunGrainAsync(platform, settings);
var baseline = await ContendedUpdates.RunLockBaselineAsync(platform, settings);
grain.Print("grain (ETag, one activation)");
baseline.Print("baseline (Redis lock + FOR UPDATE)");
Console.WriteLine($"ratio grain/baseline updates/s: {grain.PerSecond / baseline.PerSecond:F2}");

Console.WriteLine();
Console.WriteLine($"== Search with {settings.Tenants * settings.ModelsPerTenant:N0} models across {settings.Tenants} tenants");
await RegistrySearch.RunAsync(platform, settings);
