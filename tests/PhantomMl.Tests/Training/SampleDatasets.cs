using System.Diagnostics;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Training;

/// <summary>The shipped generator, scripts/sample-dataset.sh, as the tests use it.</summary>
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
}
