using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using PhantomMl.Grains.Adapters.ClickHouse;
using PhantomMl.Grains.Adapters.FileSystem;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Inference;
using PhantomMl.Grains.Models;
using PhantomMl.Tests.Training;

namespace PhantomMl.Tests.Inference;

/// <summary>What one tenant's serving may take on a silo: its share of the recording queue, its models' memory, a checked graph.</summary>
public sealed class ServingBoundsTests
{
    [Fact]
    public void A_tenant_flooding_the_recording_queue_loses_only_its_own_records()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");
        // Not started: nothing is written, so what is queued stays queued.
        var recorder = new InferenceRecorder(new TenantDatabase(dataSource), new InferenceSql(), new InferenceMetricsTable(new ClickHouseConnections("Host=127.0.0.1;Database=unused")),
            Options.Create(new InferenceOptions { RecordCapacity = 1_000 }), NullLogger<InferenceRecorder>.Instance);
        var (flooder, neighbour) = (Guid.NewGuid(), Guid.NewGuid());

        for (var i = 0; i < 5_000; i++)
        {
            recorder.Record(Record(flooder), tenantShare: 100);
        }

        for (var i = 0; i < 50; i++)
        {
            recorder.Record(Record(neighbour), tenantShare: 100);
        }

        Assert.Equal(4_900, recorder.DroppedFor(flooder));
        Assert.Equal(0, recorder.DroppedFor(neighbour));
    }

    [Fact]
    public async Task The_graph_check_refuses_custom_operator_domains_external_data_and_local_functions_and_passes_a_trained_model()
    {
        var onnx = await SampleDatasets.TrainBinaryOnnxAsync(500, seed: 1, trees: 5);
        Assert.True(OnnxGraphCheck.Inspect(onnx) > 0);

        var custom = Model(Graph(Node("Exec", domain: "evil.custom.ops")));
        Assert.Contains("evil.custom.ops", Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(custom)).Detail);

        var external = Model(Graph(Field(5, Tensor(externalPath: "../../../../etc/passwd"))));
        Assert.Contains("external file", Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(external)).Detail);
        var externalFlag = Model(Graph(Field(5, Varint(14, 1))));
        Assert.Contains("external file", Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(externalFlag)).Detail);

        // A node hidden in a subgraph (an If's branch) is checked too.
        var nested = Model(Graph(Node("If", domain: "", attribute: Field(6, Graph(Node("Exec", domain: "evil.custom.ops"))))));
        Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(nested));

        byte[] withFunctions = [.. Model(Graph()), .. Field(25, [])];
        Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(withFunctions));
        Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(onnx.AsMemory(0, onnx.Length / 2)));
        Assert.Throws<PhantomException>(() => OnnxGraphCheck.Inspect(Encoding.UTF8.GetBytes("not a model at all")));
    }

    [Fact]
    public async Task A_tenants_loaded_models_stay_within_its_budget_without_unloading_another_tenants()
    {
        var root = Directory.CreateTempSubdirectory("budget-").FullName;
        try
        {
            var store = new FileSystemArtifactStore(root);
            var small = await StoreAsync(store, await SampleDatasets.TrainBinaryOnnxAsync(500, seed: 1, trees: 5));
            var other = await StoreAsync(store, await SampleDatasets.TrainBinaryOnnxAsync(500, seed: 2, trees: 6));
            var third = await StoreAsync(store, await SampleDatasets.TrainBinaryOnnxAsync(500, seed: 3, trees: 7));
            using var cache = new OnnxModelCache(store, Options.Create(new InferenceOptions { SessionBudgetBytes = 1L << 30 }));
            var neighbour = new ModelOwner(Guid.NewGuid(), 1, 1L << 30);
            var tight = new ModelOwner(Guid.NewGuid(), 1, 2 * Math.Max(other.SizeBytes, third.SizeBytes) + 1); // room for one model

            await cache.WithModelAsync(neighbour, small, model => model.Inputs);
            await cache.WithModelAsync(tight, other, model => model.Inputs);
            await cache.WithModelAsync(tight, third, model => model.Inputs);

            Assert.Equal(2, cache.Count); // the tight tenant's newest model, and the neighbour's, untouched
            var tooBig = new ModelOwner(Guid.NewGuid(), 1, small.SizeBytes);
            var refused = await Assert.ThrowsAsync<PhantomException>(() => cache.WithModelAsync(tooBig, small, model => model.Inputs));
            Assert.Equal((413, "onnx_session_bytes"), (refused.Status, refused.Extensions["field"]));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<ArtifactView> StoreAsync(FileSystemArtifactStore store, byte[] onnx)
    {
        var key = ArtifactKeys.For(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await store.PutAsync(key, new MemoryStream(onnx), onnx.Length, TestContext.Current.CancellationToken);
        return new ArtifactView("1", onnx.Length, Convert.ToHexStringLower(SHA256.HashData(onnx)), "filesystem", key, "none", null, DateTimeOffset.UtcNow);
    }

    private static InferenceRecord Record(Guid tenant) =>
        new(Guid.NewGuid(), DateTimeOffset.UtcNow, tenant, Guid.NewGuid(), "1", "primary", null, "r", "u", null, false, [], [], 0.1);

    // ---- A few protobuf messages of the ONNX format, written by hand -----------------------------------------------------

    private static byte[] Model(byte[] graph) => [.. Varint(1, 8), .. Field(7, graph)];

    private static byte[] Graph(params byte[][] members) => [.. members.SelectMany(m => m)];

    private static byte[] Node(string opType, string domain, byte[]? attribute = null) =>
        Field(1, [.. Field(4, Encoding.UTF8.GetBytes(opType)), .. Field(7, Encoding.UTF8.GetBytes(domain)), .. attribute is null ? [] : Field(5, attribute)]);

    private static byte[] Tensor(string externalPath) =>
        [.. Varint(2, 1), .. Field(13, [.. Field(1, Encoding.UTF8.GetBytes("location")), .. Field(2, Encoding.UTF8.GetBytes(externalPath))])];

    private static byte[] Field(int number, byte[] payload) => [.. Raw((ulong)((number << 3) | 2)), .. Raw((ulong)payload.Length), .. payload];

    private static byte[] Varint(int number, ulong value) => [.. Raw((ulong)(number << 3)), .. Raw(value)];

    private static byte[] Raw(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }
}
