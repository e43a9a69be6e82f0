namespace PhantomMl.ClickHouseSidecar;

/// <summary>Command-line options of the sidecar.</summary>
internal sealed record SidecarOptions(string LibraryPath, string DataDirectory, int Port, string Host)
{
    public static SidecarOptions? Parse(string[] args)
    {
        string? lib = null, data = null, host = "127.0.0.1";
        int port = 0;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--lib": lib = args[i + 1]; break;
                case "--data": data = args[i + 1]; break;
                case "--port": _ = int.TryParse(args[i + 1], out port); break;
                case "--host": host = args[i + 1]; break;
                default: return null;
            }
        }

        return lib is null || data is null || port is <= 0 or > 65535
            ? null
            : new SidecarOptions(Path.GetFullPath(lib), Path.GetFullPath(data), port, host);
    }
}
