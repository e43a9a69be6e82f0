using System.Globalization;
using System.Text.RegularExpressions;
using PhantomMl.Grains.Tenants;
using PhantomMl.Tests.Infrastructure;

namespace PhantomMl.Tests.Tenants;

/// <summary>The quota table of docs/tenants.md is what operators and tenants read: it must say exactly what the code enforces.</summary>
public sealed partial class QuotaTableTests
{
    [Fact]
    public void The_documented_quota_table_lists_every_quota_with_the_kind_and_tier_defaults_the_code_enforces()
    {
        var readme = File.ReadAllText(Path.Combine(SiloProcess.RepositoryRoot(), "docs", "tenants.md"));
        var rows = QuotaRow().Matches(readme).Select(match => new QuotaDefinition(
            match.Groups["name"].Value,
            Enum.Parse<QuotaKind>(match.Groups["kind"].Value, ignoreCase: true),
            match.Groups["bounds"].Value.Trim(),
            Amount(match.Groups["basic"].Value),
            Amount(match.Groups["pro"].Value),
            Amount(match.Groups["enterprise"].Value))).ToList();

        Assert.Equal(Quotas.All, rows);
    }

    /// <summary>"10,000", "256 MiB", "10 TiB".</summary>
    private static long Amount(string text)
    {
        var parts = text.Trim().Split(' ');
        var number = long.Parse(parts[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        return parts.Length == 1 ? number : number << parts[1] switch
        {
            "KiB" => 10,
            "MiB" => 20,
            "GiB" => 30,
            "TiB" => 40,
            var unit => throw new FormatException($"Unknown unit {unit}"),
        };
    }

    [GeneratedRegex(@"^\| `(?<name>[a-z_]+)` \| (?<kind>gauge|monthly|limit) \| (?<bounds>[^|]+) \| (?<basic>[^|]+) \| (?<pro>[^|]+) \| (?<enterprise>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex QuotaRow();
}
