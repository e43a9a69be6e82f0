using System.Text.RegularExpressions;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Tenants;

/// <summary>Input rules for tenants and their users; a violation is a 400 naming the field.</summary>
public static partial class TenantValidation
{
    public static bool IsTenantKey(string key) => TenantResolver.IsTenantKey(key);

    public static void TenantKey(string key)
    {
        if (!IsTenantKey(key))
        {
            throw PhantomException.Invalid("A tenant key is 2-63 lowercase letters, digits and inner '-', and not 'platform'.", "tenantKey");
        }
    }

    public static string Name(string? name, string field = "name")
    {
        var trimmed = name?.Trim();
        return string.IsNullOrEmpty(trimmed) || trimmed.Length > 255 || trimmed.Any(char.IsControl)
            ? throw PhantomException.Invalid($"'{field}' must be 1-255 characters without control characters.", field)
            : trimmed;
    }

    public static string Tier(string? tier) => tier is null ? "basic"
        : Quotas.ByTier.ContainsKey(tier) ? tier
        : throw PhantomException.Invalid($"subscriptionTier must be one of {string.Join(", ", Quotas.ByTier.Keys)}.", "subscriptionTier");

    /// <summary>Only row-level isolation is implemented; the others are refused rather than silently accepted.</summary>
    public static string IsolationLevel(string? level) => level is null or "row_level" ? "row_level"
        : level is "schema" or "database"
            ? throw PhantomException.Invalid($"isolationLevel '{level}' is not available in this deployment; use 'row_level'.", "isolationLevel")
            : throw PhantomException.Invalid("isolationLevel must be 'row_level'.", "isolationLevel");

    public static Dictionary<string, long> QuotaOverrides(IReadOnlyDictionary<string, long>? quotas)
    {
        var result = new Dictionary<string, long>();
        foreach (var (name, limit) in quotas ?? new Dictionary<string, long>())
        {
            if (!Quotas.Names.Contains(name))
            {
                throw PhantomException.Invalid($"Unknown quota '{name}'; known: {string.Join(", ", Quotas.Names)}.", "resourceQuotas");
            }

            if (limit < 0)
            {
                throw PhantomException.Invalid($"Quota '{name}' must not be negative.", "resourceQuotas");
            }

            result[name] = limit;
        }

        return result;
    }

    public static string[] ComplianceFrameworks(IReadOnlyList<string>? frameworks)
    {
        var list = frameworks ?? [];
        return list.Count > 20 || list.Any(f => f is null || !FrameworkPattern().IsMatch(f))
            ? throw PhantomException.Invalid("complianceFrameworks are at most 20 names like GDPR, HIPAA, SOC2, ISO27001 (2-20 of A-Z, 0-9, '-').",
                "complianceFrameworks")
            : list.Distinct().ToArray();
    }

    public static string? DataResidency(string? residency) => residency is null || ResidencyPattern().IsMatch(residency)
        ? residency
        : throw PhantomException.Invalid("dataResidency is a region such as 'eu' or 'us-east-1' (lowercase, up to 100 characters).", "dataResidency");

    public static bool IsUserId(string? userId) => userId is not null && UserIdPattern().IsMatch(userId);

    public static string UserId(string? userId) => userId is not null && UserIdPattern().IsMatch(userId)
        ? userId
        : throw PhantomException.Invalid("userId is 1-255 of letters, digits, '.', '_', '@', '-'.", "userId");

    public static string Email(string? email) => email is not null && email.Length <= 255 && EmailPattern().IsMatch(email)
        ? email
        : throw PhantomException.Invalid("email must be an address like name@example.com.", "email");

    public static string[] Roles(IReadOnlyList<string>? roles)
    {
        var list = roles ?? [];
        return list.Count == 0 || list.Any(r => r is null || !Permissions.TenantRoles.Contains(r))
            ? throw PhantomException.Invalid($"roles must be one or more of {string.Join(", ", Permissions.TenantRoles)}.", "roles")
            : list.Distinct().ToArray();
    }

    public static string[] Grants(IReadOnlyList<string>? permissions)
    {
        var list = permissions ?? [];
        return list.Any(p => p is null || !Permissions.Grantable.Contains(p))
            ? throw PhantomException.Invalid($"permissions may only name {string.Join(", ", Permissions.Grantable.Order())}.", "permissions")
            : list.Distinct().ToArray();
    }

    public static string UserStatus(string status) => status is "active" or "disabled"
        ? status
        : throw PhantomException.Invalid("status must be 'active' or 'disabled'.", "status");

    public static string KeyName(string? name) => name is not null && KeyNamePattern().IsMatch(name) && !string.IsNullOrWhiteSpace(name)
        ? name.Trim()
        : throw PhantomException.Invalid("An API key name is 1-100 of letters, digits, spaces, '.', '_', '-', not only spaces.", "name");

    [GeneratedRegex("^[A-Z0-9-]{2,20}$")]
    private static partial Regex FrameworkPattern();

    [GeneratedRegex("^[a-z]{2}(?:-[a-z0-9-]{1,97})?$")]
    private static partial Regex ResidencyPattern();

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,255}$")]
    private static partial Regex UserIdPattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex("^[A-Za-z0-9 ._-]{1,100}$")]
    private static partial Regex KeyNamePattern();
}
