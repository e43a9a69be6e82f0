using System.Runtime.InteropServices;

namespace PhantomMl.ClickHouseSidecar;

/// <summary>The named pipe whose blocking read keeps the HTTP listener alive; one line written to it stops the server.</summary>
internal static partial class ControlFifo
{
    public static void Recreate(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        if (MakeFifo(path, Convert.ToUInt32("600", 8)) != 0)
        {
            throw new IOException($"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>Writes the stop line without blocking when nobody reads any more.</summary>
    public static void Signal(string path)
    {
        // O_WRONLY | O_NONBLOCK: fails at once when the query already ended instead of hanging the handler.
        var fd = Open(path, 0x1 | 0x800);
        if (fd < 0)
        {
            return;
        }

        var line = "stop\n"u8.ToArray();
        _ = Write(fd, line, line.Length);
        _ = Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write")]
    private static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
