namespace PhantomMl.Bench;

/// <summary>The CPU a process has used so far, read from <c>/proc/{pid}/stat</c>: where a benchmark's time goes.</summary>
public static class ProcessCpu
{
    /// <summary>utime + stime of a process, in seconds (clock ticks of 10 ms); 0 when the process is not known.</summary>
    public static double Seconds(int pid)
    {
        if (pid <= 0 || !File.Exists($"/proc/{pid}/stat"))
        {
            return 0;
        }

        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
    }
}
