// A ClickHouse server for machines where none can be installed: chDB's libchdb.so is ClickHouse's own
// engine as a library, and clickhouse-local serves the real HTTP interface for as long as one query runs.
// This process keeps that query running (a blocking read of a FIFO) until it is told to stop, so the
// platform talks to it with ClickHouse.Driver exactly as it would to a ClickHouse server.
//
// Usage: PhantomMl.ClickHouseSidecar --lib PATH --data DIR --port PORT [--host 127.0.0.1]
// Stop:  write a line into DIR/sidecar.ctl, or send SIGTERM/SIGINT (the process does that itself).
using System.Runtime.InteropServices;
using PhantomMl.ClickHouseSidecar;

var options = SidecarOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: PhantomMl.ClickHouseSidecar --lib PATH --data DIR --port PORT [--host 127.0.0.1]");
    return 2;
}

Directory.CreateDirectory(options.DataDirectory);
var controlFifo = Path.Combine(options.DataDirectory, "sidecar.ctl");
ControlFifo.Recreate(controlFifo);

// A signal must end the blocking query, not the runtime: the library then returns and data is flushed.
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; ControlFifo.Signal(controlFifo); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; ControlFifo.Signal(controlFifo); });

using var engine = ChdbLibrary.Load(options.LibraryPath);
Console.WriteLine($"chdb {engine.Version()} serving ClickHouse HTTP on http://{options.Host}:{options.Port}/ (data: {options.DataDirectory})");
var exitCode = engine.ServeHttpUntilSignalled(options, controlFifo);
Console.WriteLine("ClickHouse sidecar stopped.");
return exitCode;
