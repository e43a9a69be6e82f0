using PhantomMl.Grains.Security;

namespace PhantomMl.Tests.Security;

/// <summary>The roles table of docs/security.md is the documentation users rely on: it must say what the code does.</summary>
public sealed class PermissionTableTests
{
    [Fact]
    public void The_documented_roles_table_matches_the_permissions_each_role_has()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "docs", "security.md"));
        var header = Array.FindIndex(readme, line => line.StartsWith("| Permission | platform-admin", StringComparison.Ordinal));
        Assert.True(header >= 0, "roles table not found in docs/security.md");
        var roles = readme[header].Split('|', StringSplitOptions.TrimEntries)[2..^1];

        var documented = roles.ToDictionary(role => role, _ => new HashSet<string>());
        foreach (var row in readme.Skip(header + 2).TakeWhile(line => line.StartsWith('|')))
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
            var permissions = cells[0].Split('`').Where((_, i) => i % 2 == 1).ToList();
            for (var r = 0; r < roles.Length; r++)
            {
                if (cells[r + 1] == "yes")
                {
                    documented[roles[r]].UnionWith(permissions);
                }
            }
        }

        Assert.Equal(Permissions.All.Order(), documented.Values.SelectMany(p => p).Distinct().Order());
        foreach (var role in roles)
        {
            Assert.Equal(Permissions.ByRole[role].Order(), documented[role].Order());
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "PhantomMl.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
