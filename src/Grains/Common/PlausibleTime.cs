
namespace PhantomMl.Grains.Common;

/// <summary>
/// Points in time a caller may name in a query or a setting: from 1970 to 2200. Anything outside (DateTimeOffset's
/// extremes included) is a 400 naming the field, never arithmetic that overflows further on.
/// </summary>
public static class PlausibleTime
{
    public static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    public static readonly DateTimeOffset Latest = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The value when it is null or between <see cref="Earliest"/> and <see cref="Latest"/>; 400 otherwise.</summary>
    public static DateTimeOffset? Check(DateTimeOffset? value, string field) =>
        value is null || (value >= Earliest && value <= Latest)
            ? value
            : throw PhantomException.Invalid($"{field} must be between {Earliest:yyyy-MM-dd} and {Latest:yyyy-MM-dd}.", field);
}
