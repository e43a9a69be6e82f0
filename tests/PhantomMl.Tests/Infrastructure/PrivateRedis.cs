using System.Diagnostics;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// A Redis server of one test's own (Debian's redis-server, keeping nothing on disk as the platform's does), so the test
/// can restart or pause it without disturbing others.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private Process _server;

    private PrivateRedis(int port)
    {
        Port = port;
        _server = Start(port);
    }

    public int Port { get; }

    /// <summary>A connection string with short timeouts, so a paused server shows up as timeouts within a second.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},syncTimeout=1000,asyncTimeout=1000,connectTimeout=1000,abortConnect=false";

    public static async Task<PrivateRedis> StartAsync()
    {
        var redis = new PrivateRedis(TestServices.FreePort());
        await redis.WaitUntilUpAsync();
        return redis;
    }

    /// <summary>Stops the server (its data is gone, as after a crash of a Redis that keeps nothing) and starts it again.</summary>
    public async Task RestartAsync()
    {
        await CliAsync("shutdown nosave");
        await _server.WaitForExitAsync();
        _server.Dispose();
        _server = Start(Port);
        await WaitUntilUpAsync();
    }

    /// <summary>Makes the server hold every command for <paramref name="duration"/>: clients see timeouts, not refusals.</summary>
    public Task PauseAsync(TimeSpan duration) => CliAsync($"client pause {(int)duration.TotalMilliseconds} ALL");

    public async ValueTask DisposeAsync()
    {
        await CliAsync("shutdown nosave");
        await _server.WaitForExitAsync();
        _server.Dispose();
    }

    private async Task WaitUntilUpAsync()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if ((await CliAsync("ping")).Contains("PONG", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"redis-server on port {Port} did not start");
    }

    private async Task<string> CliAsync(string command)
    {
        using var cli = Process.Start(new ProcessStartInfo("redis-cli", $"-p {Port} {command}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return output;
    }

    private static Process Start(int port) =>
        Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save '' --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start");
}
