namespace PhantomMl.Silo.Extensions;

/// <summary>The first platform admin. Section <c>Phantom:Bootstrap</c>.</summary>
public sealed class BootstrapOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Phantom:Bootstrap";

    /// <summary>Where the platform-admin key is kept; unset (the default) issues none. scripts/run.sh sets <c>.phantom/admin.key</c>.</summary>
    public string? AdminKeyFile { get; set; }

    /// <summary>The admin's name in audit rows (<c>platform-admin:NAME</c>). Default <c>admin</c>.</summary>
    public string AdminName { get; set; } = "admin";
}
