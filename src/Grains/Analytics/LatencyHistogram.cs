using System.Globalization;

namespace PhantomMl.Grains.Analytics;

/// <summary>
/// Latencies counted in fixed buckets, eight per doubling (each bound 9% above the previous), from 10 µs to about
/// 140 s. Recording is two interlocked increments, so any number of threads record at once without a lock; the
/// collector drains the counts each interval. Fixed bounds are what lets percentiles be computed later over any set of
/// intervals and silos: their bucket counts simply add up (a percentile of percentiles would not).
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Buckets per doubling of latency.</summary>
    public const int BucketsPerDoubling = 8;

    /// <summary>The upper bound of the first bucket, in milliseconds.</summary>
    public const double SmallestBoundMs = 0.01;

    /// <summary>Number of buckets; the last one also holds everything slower.</summary>
    public const int BucketCount = 24 * BucketsPerDoubling;

    private readonly long[] _counts = new long[BucketCount];

    // Rounded to four significant digits: the bounds are stored as text in performance_metrics' dimensions.
    private static readonly double[] Bounds = Enumerable.Range(0, BucketCount)
        .Select(i => double.Parse((SmallestBoundMs * Math.Pow(2, (double)i / BucketsPerDoubling)).ToString("G4", CultureInfo.InvariantCulture),
            CultureInfo.InvariantCulture)).ToArray();

    /// <summary>The upper bound of bucket <paramref name="index"/> in milliseconds.</summary>
    public static double UpperBoundMs(int index) => Bounds[index];

    /// <summary>The bucket a latency falls in: the first whose upper bound is not below it.</summary>
    public static int IndexOf(double milliseconds) =>
        milliseconds <= SmallestBoundMs ? 0 : Math.Min(BucketCount - 1, (int)Math.Ceiling(Math.Log2(milliseconds / SmallestBoundMs) * BucketsPerDoubling - 1e-9));

    /// <summary>Counts one latency.</summary>
    public void Record(double milliseconds) => Interlocked.Increment(ref _counts[IndexOf(milliseconds)]);

    /// <summary>Takes the counts recorded since the previous drain (bucket index and count, empty buckets left out).</summary>
    public List<(int Bucket, long Count)> Drain()
    {
        var taken = new List<(int, long)>();
        for (var i = 0; i < _counts.Length; i++)
        {
            if (Volatile.Read(ref _counts[i]) != 0 && Interlocked.Exchange(ref _counts[i], 0) is var count and not 0)
            {
                taken.Add((i, count));
            }
        }

        return taken;
    }
}
