using System.Data.Common;

namespace PhantomMl.Grains.Adapters.ClickHouse;

/// <summary>Binds ClickHouse query parameters (<c>{name:Type}</c> placeholders) through plain ADO.NET.</summary>
public static class DbCommandExtensions
{
    /// <summary>Adds a named parameter and returns the command.</summary>
    public static DbCommand AddParameter(this DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return command;
    }
}
