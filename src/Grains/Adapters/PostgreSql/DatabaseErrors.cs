using Npgsql;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>
/// PostgreSQL errors that mean "the request's values do not fit", as the caller's error rather than a server error:
/// a value too long, out of range or not valid text (NUL), a broken reference, a violated check (400), a duplicate (409).
/// Validation in the grains catches these first; this is the net under it, so no such value becomes a 500. The
/// transaction rolled back, so nothing changed.
/// </summary>
public static class DatabaseErrors
{
    /// <summary>The problem a PostgreSQL error stands for, or null when it is the platform's own failure.</summary>
    public static PhantomException? AsProblem(PostgresException error) => error.SqlState switch
    {
        PostgresErrorCodes.UniqueViolation => PhantomException.Conflict("It exists already."),
        PostgresErrorCodes.ForeignKeyViolation => PhantomException.Invalid("The request refers to something that does not exist."),
        PostgresErrorCodes.CheckViolation or PostgresErrorCodes.NotNullViolation =>
            PhantomException.Invalid($"A value is not allowed ({error.ConstraintName ?? error.ColumnName ?? "constraint"})."),
        PostgresErrorCodes.ProgramLimitExceeded => PhantomException.Invalid("A value is too large to be stored."),
        // Class 22, data exceptions: too long, out of range, invalid text or encoding (NUL), bad date, bad JSON text.
        { } state when state.StartsWith("22", StringComparison.Ordinal) =>
            PhantomException.Invalid($"A value cannot be stored: {error.MessageText}"),
        _ => null,
    };
}
