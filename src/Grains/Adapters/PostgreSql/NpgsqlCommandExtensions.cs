using Npgsql;
using NpgsqlTypes;

namespace PhantomMl.Grains.Adapters.PostgreSql;

/// <summary>Parameters for optional filters: a typed parameter that is SQL NULL when the value is absent.</summary>
public static class NpgsqlCommandExtensions
{
    /// <summary>Adds <paramref name="name"/> of <paramref name="type"/>, NULL when <paramref name="value"/> is null.</summary>
    public static void AddOptional(this NpgsqlCommand command, string name, NpgsqlDbType type, object? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
}
