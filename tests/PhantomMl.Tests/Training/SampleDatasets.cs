using System.Diagnostics;
using PhantomMl.Grains.Training;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>The shipped generator, scripts/sample-dataset.sh, as the tests use it, and a model trained on its data.</summary>
public static class SampleDatasets
{
    public static async Task<byte[]> GenerateAsync(string kind, int rows, int seed = 42)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(SiloProcess.RepositoryRoot(), "scripts", "sample-dataset.sh"), kind, rows.ToString(), seed.ToString()])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(output);
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.ToArray() : throw new InvalidOperationException($"sample-dataset.sh exited with {process.ExitCode}");
    }

    /// <summary>A FastTree binary classifier trained by the platform's trainer on generated rows, as ONNX bytes.</summary>
    public static async Task<byte[]> TrainBinaryOnnxAsync(int rows, int seed, int trees)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"sample-model-{Guid.NewGuid():N}.csv");
        try
        {
            await File.WriteAllBytesAsync(csv, await GenerateAsync("binary", rows, seed));
            var recipe = TrainingRecipe.Parse("""{"task": "binary-classification", "algorithm": "fasttree", "rounds": 1}""", $$"""{"trees": {{trees}}}""",
                "model://data/versions/1");
            return BuiltInTrainer.Train(csv, recipe, _ => true, CancellationToken.None).Onnx!;
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
