using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PhantomMl.Tests.Infrastructure;

/// <summary>
/// A real silo: the built PhantomMl.Silo.dll in its own process, on free ports, in a cluster of the
/// test's own. Killing it with <see cref="Kill"/> is a <c>kill -9</c>, as a crashed host would be.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    // Long enough for a 64 MiB artifact to reach moto on a busy 2-core machine; health polls pass their own short deadline.
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(120) };
    private readonly Process _process;
    private readonly string _logPath;

    private SiloProcess(Process process, SiloEndpoints endpoints, string logPath, string adminKeyFile)
    {
        _process = process;
        Endpoints = endpoints;
        _logPath = logPath;
        _adminKeyFile = adminKeyFile;
    }

    private readonly string _adminKeyFile;

    /// <summary>The folder of this silo's filesystem artifact store.</summary>
    public string ArtifactRoot { get; private init; } = "";

    /// <summary>The cluster the silo joined (what an SDK client connects to).</summary>
    public string ClusterId { get; private init; } = "";

    /// <summary>The platform-admin key this silo issued at start (each test silo bootstraps its own).</summary>
    public string AdminKey => File.ReadAllText(_adminKeyFile).Trim();

    /// <summary>Where this silo listens.</summary>
    public SiloEndpoints Endpoints { get; }

    /// <summary>The HTTP base address, e.g. http://127.0.0.1:5123.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Endpoints.HttpPort}");

    /// <summary>Whether the process still runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Starts a silo; returns once it serves HTTP (not necessarily ready).</summary>
    public static async Task<SiloProcess> StartAsync(
        string clusterId, MigratedDatabases databases, string? redis = null, SiloEndpoints? endpoints = null,
        IDictionary<string, string>? settings = null)
    {
        endpoints ??= SiloEndpoints.Free();
        var siloDirectory = LocateSiloBuild();
        var logPath = Path.Combine(Path.GetTempPath(), "phantom-test-silos", $"{clusterId}-{endpoints.SiloPort}-{DateTime.UtcNow:HHmmssfff}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);

        var start = new ProcessStartInfo("dotnet", ["PhantomMl.Silo.dll"])
        {
            WorkingDirectory = siloDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Urls"] = $"http://127.0.0.1:{endpoints.HttpPort}";
        start.Environment["ConnectionStrings__PostgreSql"] = databases.PostgreSql;
        start.Environment["ConnectionStrings__PostgreSqlMigrations"] = databases.PostgreSqlOwner;
        start.Environment["ConnectionStrings__ClickHouse"] = databases.ClickHouse;
        start.Environment["ConnectionStrings__Redis"] = redis ?? TestServices.Redis;
        start.Environment["Phantom__Silo__ClusterId"] = clusterId;
        start.Environment["Phantom__Silo__SiloPort"] = endpoints.SiloPort.ToString();
        start.Environment["Phantom__Silo__GatewayPort"] = endpoints.GatewayPort.ToString();
        start.Environment["Logging__Console__FormatterName"] = "simple";
        var adminKeyFile = Path.ChangeExtension(logPath, ".admin.key");
        var artifactRoot = Path.ChangeExtension(logPath, ".artifacts");
        start.Environment["Phantom__Artifacts__Root"] = artifactRoot;
        start.Environment["Phantom__Bootstrap__AdminKeyFile"] = adminKeyFile;
        // The test process has the S3 address (for the tests that want it); a silo uses S3 only when asked.
        start.Environment.Remove("ConnectionStrings__S3");
        // Every test request comes from 127.0.0.1, and many tests send bad keys on purpose: the failed-authentication
        // limits would turn later tests away. The tests of those limits set their own.
        start.Environment["Phantom__Security__FailuresPerClient"] = "1000000";
        start.Environment["Phantom__Security__FailuresPerKeyPrefix"] = "1000000";
        // Webhook agents are tested against listeners of the test process, on loopback; a test of the default sets false.
        start.Environment["Phantom__Agents__AllowLoopbackWebhooks"] = "true";
        // Resource samples every 5 s instead of 15, so a test sees one soon.
        start.Environment["Phantom__Analytics__ResourceInterval"] = "00:00:05";
        // Service metrics every 2 s instead of 10, so a test sees its calls soon.
        start.Environment["Phantom__Analytics__ServiceInterval"] = "00:00:02";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var silo = new SiloProcess(process, endpoints, logPath, adminKeyFile) { ArtifactRoot = artifactRoot, ClusterId = clusterId };
        await silo.WaitForAsync("/health/live", TimeSpan.FromSeconds(60));
        return silo;
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200.</summary>
    public Task WaitUntilReadyAsync(TimeSpan? timeout = null) => WaitForAsync("/health/ready", timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>GET on this silo, as the platform admin unless another key (or "" for none) is given.</summary>
    public Task<HttpResponseMessage> GetAsync(string path, string? apiKey = null) => SendAsync(HttpMethod.Get, path, apiKey);

    /// <summary>POST without a body on this silo, as the platform admin unless another key is given.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string? apiKey = null) => SendAsync(HttpMethod.Post, path, apiKey);

    /// <summary>Any request; <paramref name="apiKey"/> null means the platform admin's key, "" means no key.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? apiKey = null, HttpContent? content = null,
        IDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseAddress, path)) { Content = content };
        var key = apiKey ?? AdminKey;
        if (key.Length > 0)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return Http.SendAsync(request);
    }

    /// <summary>SIGKILL: the silo gets no chance to leave the cluster.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGSTOP: the silo stays in the cluster but answers nothing (a host that froze) until <see cref="Resume"/>.</summary>
    public void Pause() => _ = SendSignal(_process.Id, 19);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => _ = SendSignal(_process.Id, 18);

    /// <summary>SIGTERM and wait: the silo leaves the cluster gracefully.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = SendSignal(_process.Id, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    private async Task WaitForAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Silo exited with code {_process.ExitCode}; log: {_logPath}\n{Tail()}");
            }

            try
            {
                using var poll = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await Http.GetAsync(new Uri(BaseAddress, path), poll.Token); // health needs no key
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{path} not OK within {timeout.TotalSeconds}s (last: {last}); log: {_logPath}\n{Tail()}");
    }

    /// <summary>The silo's log so far (console output, one entry per line).</summary>
    public IReadOnlyList<string> LogLines()
    {
        using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    private string Tail() => File.Exists(_logPath)
        ? string.Join('\n', File.ReadLines(_logPath).TakeLast(30))
        : "";

    /// <summary>The repository's root folder (where PhantomMl.sln is).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PhantomMl.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("PhantomMl.sln not found above the test binaries");
    }

    private static string LocateSiloBuild()
    {
        var configuration = typeof(SiloProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PhantomMl.sln")))
        {
            directory = directory.Parent;
        }

        var silo = Path.Combine(directory?.FullName ?? throw new InvalidOperationException("PhantomMl.sln not found above the test binaries"),
            "src", "Silo", "bin", configuration, "net10.0");
        return File.Exists(Path.Combine(silo, "PhantomMl.Silo.dll"))
            ? silo
            : throw new InvalidOperationException($"The silo is not built in {silo}: build the solution first.");
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}

/// <summary>The three ports of one silo.</summary>
public sealed record SiloEndpoints(int SiloPort, int GatewayPort, int HttpPort)
{
    /// <summary>Three ports that were free a moment ago.</summary>
    public static SiloEndpoints Free() => new(TestServices.FreePort(), TestServices.FreePort(), TestServices.FreePort());
}

/// <summary>JSON helpers for silo HTTP calls.</summary>
public static class SiloProcessJson
{
    /// <summary>GETs a path and reads its JSON body, failing on a non-success status.</summary>
    public static async Task<T> GetFromJsonAsync<T>(this SiloProcess silo, string path)
    {
        using var response = await silo.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<T>(response.Content)
            ?? throw new InvalidOperationException($"{path} returned null");
    }
}
