using System.Runtime.InteropServices;

namespace PhantomMl.ClickHouseSidecar;

/// <summary>The few entry points of libchdb.so that serving HTTP needs.</summary>
internal sealed unsafe class ChdbLibrary : IDisposable
{
    private readonly nint _handle;
    private readonly delegate* unmanaged<int, nint*, nint> _queryCommandLine;
    private readonly delegate* unmanaged<byte*> _version;

    private ChdbLibrary(nint handle)
    {
        _handle = handle;
        // ClickHouse installs its own signal handlers by default; in a .NET host they can hang the
        // process on a managed exception, so they go off before anything else runs.
        var disableSignals = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(handle, "chdb_set_signal_handlers_enabled");
        disableSignals(0);
        _queryCommandLine = (delegate* unmanaged<int, nint*, nint>)NativeLibrary.GetExport(handle, "chdb_query_cmdline");
        _version = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "chdb_version");
    }

    public static ChdbLibrary Load(string path) => new(NativeLibrary.Load(path));

    public string Version() => Marshal.PtrToStringUTF8((nint)_version()) ?? "unknown";

    /// <summary>Runs clickhouse-local with its HTTP interface on, blocked on reading the control FIFO.</summary>
    public int ServeHttpUntilSignalled(SidecarOptions options, string controlFifo)
    {
        string[] arguments =
        [
            "clickhouse",
            $"--path={options.DataDirectory}",
            $"--http_port={options.Port}",
            $"--listen_host={options.Host}",
            $"--query=SYSTEM START LISTEN HTTP; SELECT count() FROM file('{controlFifo}', 'LineAsString', 'line String') FORMAT Null",
        ];

        var argv = arguments.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            fixed (nint* argvPointer = argv)
            {
                var result = _queryCommandLine(argv.Length, argvPointer);
                return result == 0 ? 1 : 0;
            }
        }
        finally
        {
            foreach (var pointer in argv)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    public void Dispose() => NativeLibrary.Free(_handle);
}
