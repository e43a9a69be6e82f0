namespace PhantomMl.Grains.Common;

/// <summary>
/// The window and bucket width of an analytics query, checked the same way everywhere: <c>to</c> defaults to now and
/// <c>from</c> to <c>to</c> minus a default length; the window is at most <c>longest</c>; the bucket width defaults to
/// a sixtieth of the window and may make at most <c>maxBuckets</c> buckets. Anything else is 400.
/// </summary>
public readonly record struct TimeWindow(DateTimeOffset From, DateTimeOffset To, int BucketSeconds)
{
    /// <summary>Checks a caller's window; see the type's summary.</summary>
    public static TimeWindow Check(DateTimeOffset? from, DateTimeOffset? to, int? bucketSeconds, DateTimeOffset now, TimeSpan defaultLength,
        TimeSpan longest, int maxBuckets)
    {
        var end = PlausibleTime.Check(to, "to") ?? now;
        var start = PlausibleTime.Check(from, "from") ?? end - defaultLength;
        if (start >= end || end - start > longest)
        {
            throw PhantomException.Invalid($"from must be before to, at most {longest.TotalDays:N0} days apart.", "from");
        }

        var window = (end - start).TotalSeconds;
        var bucket = bucketSeconds ?? (int)Math.Max(1, Math.Ceiling(window / 60));
        if (bucket < 1 || window / bucket > maxBuckets)
        {
            throw PhantomException.Invalid($"bucketSeconds must be at least 1 and make at most {maxBuckets} buckets of the window.", "bucketSeconds");
        }

        return new TimeWindow(start, end, bucket);
    }
}
