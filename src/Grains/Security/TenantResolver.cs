using System.Text.RegularExpressions;
using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Finds the tenant behind a tenant key before any tenant context exists (a platform admin addressing a tenant). A key
/// names the same tenant for good (tenants are never removed and keys never change), so an id found is remembered by
/// this silo for a minute: hot paths do not ask PostgreSQL per call. A key not found is asked again every time, since the
/// tenant may be created any moment; a string that cannot be a tenant key is answered without asking at all.
/// </summary>
public sealed partial class TenantResolver(SecuritySql sql, TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ExpiringMemo<string, Guid> _known = new(capacity: 100_000);

    /// <summary>Whether <paramref name="key"/> can name a tenant: 2-63 lowercase letters, digits and inner '-', not the platform's key.</summary>
    public static bool IsTenantKey(string key) => TenantKeyPattern().IsMatch(key) && key != PlatformTenant.Key;

    /// <summary>The tenant's id; null when there is no such tenant.</summary>
    public async Task<Guid?> ResolveAsync(string tenantKey, CancellationToken cancellationToken = default)
    {
        if (!IsTenantKey(tenantKey))
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (_known.TryGet(tenantKey, now, out var known))
        {
            return known;
        }

        var id = await sql.ResolveTenantAsync(tenantKey, cancellationToken);
        if (id is { } found)
        {
            _known.Set(tenantKey, found, now + Lifetime);
        }

        return id;
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])$")]
    private static partial Regex TenantKeyPattern();
}
