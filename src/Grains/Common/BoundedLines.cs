using System.Text;

namespace PhantomMl.Grains.Common;

/// <summary>
/// The lines of a text file (a CSV dataset), read with bounded memory: a line longer than the limit is a 400 naming its
/// number, never a string of the whole file (a file without line breaks is one line).
/// </summary>
public static class BoundedLines
{
    /// <summary>The longest line a dataset may have: 1 MiB of characters.</summary>
    public const int MaxLineChars = 1 << 20;

    /// <summary>The file's lines (without their line breaks); a line over <paramref name="maxChars"/> throws 400.</summary>
    public static IEnumerable<string> Read(string path, int maxChars = MaxLineChars)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var line = new StringBuilder();
        var buffer = new char[1 << 16];
        long number = 0;
        var pendingCarriageReturn = false;
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (c == '\n')
                {
                    number++;
                    yield return line.ToString();
                    line.Clear();
                    pendingCarriageReturn = false;
                    continue;
                }

                if (pendingCarriageReturn)
                {
                    line.Append('\r');
                    pendingCarriageReturn = false;
                }

                if (c == '\r')
                {
                    pendingCarriageReturn = true;
                    continue;
                }

                if (line.Length >= maxChars)
                {
                    throw PhantomException.Invalid($"Line {number + 1} of the dataset is longer than {maxChars} characters.", "datasetUri");
                }

                line.Append(c);
            }
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
