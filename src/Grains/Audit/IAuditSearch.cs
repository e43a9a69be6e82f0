using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// Full-text search over a tenant's audit trail. The PostgreSQL backend (tsvector + GIN) is the default and searches
/// the trail itself; another backend (Elasticsearch) indexes the tenant's sealed chain, the trail being its outbox,
/// after each seal. Every implementation searches one tenant only.
/// </summary>
public interface IAuditSearch
{
    /// <summary>The backend's name, as reported by the search status.</summary>
    string Backend { get; }

    /// <summary>One page of hits of <paramref name="query"/> (validated) in <paramref name="tenantId"/>'s trail.</summary>
    Task<AuditSearchPage> SearchAsync(Guid tenantId, ParsedAuditSearch query);

    /// <summary>Indexes what the tenant's chain sealed since the last call (idempotent by row id, resumable); how many entries.</summary>
    Task<long> CatchUpAsync(Guid tenantId);

    /// <summary>Makes the next catch-up index the tenant's whole chain again (rows changed in place: an erasure).</summary>
    Task ResetAsync(Guid tenantId);

    /// <summary>The last chain entry the backend indexed for the tenant and when; <paramref name="headSeq"/> for one that needs no index.</summary>
    Task<(long IndexedSeq, DateTimeOffset? IndexedAt)> ProgressAsync(Guid tenantId, long headSeq);
}

/// <summary>One term of a search: a word, a phrase of words in order, or a word prefix.</summary>
public sealed record SearchTerm(string Kind, string Text)
{
    public const string Word = "word";
    public const string Phrase = "phrase";
    public const string Prefix = "prefix";
}

/// <summary>A search, checked and taken apart: its terms, its sort and where the previous page ended.</summary>
public sealed record ParsedAuditSearch(AuditSearchQuery Query, IReadOnlyList<SearchTerm> Terms, string Sort, SearchCursor? After);

/// <summary>Where a page ended: the last hit's risk, time and id.</summary>
public sealed record SearchCursor(decimal Risk, DateTimeOffset Timestamp, Guid Id)
{
    /// <summary>The opaque text a client passes back.</summary>
    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(
        $"{Risk.ToString(CultureInfo.InvariantCulture)}:{Timestamp.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{Id}"));

    /// <summary>Reads a cursor back; null when it is not one this API made.</summary>
    public static SearchCursor? Decode(string text)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(text)).Split(':');
            return parts.Length == 3
                ? new SearchCursor(decimal.Parse(parts[0], CultureInfo.InvariantCulture),
                    new DateTimeOffset(long.Parse(parts[1], CultureInfo.InvariantCulture), TimeSpan.Zero), Guid.Parse(parts[2]))
                : null;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>Checks a search and takes its text apart: <c>"a phrase"</c>, <c>prefix*</c>, and words.</summary>
public static partial class AuditSearchParser
{
    /// <summary>Sorts a search accepts.</summary>
    public static readonly IReadOnlyList<string> Sorts = ["newest", "oldest", "risk"];

    /// <summary>The checked search, or 400 naming what is wrong.</summary>
    public static ParsedAuditSearch Parse(AuditSearchQuery? query)
    {
        var valid = query ?? throw PhantomException.Invalid("Send the search.", "body");
        if (valid.Limit is < 1 or > 500)
        {
            throw PhantomException.Invalid("limit must be 1-500.", "limit");
        }

        if (valid.Text is { Length: > 500 } || valid.Text?.Contains('\0') == true)
        {
            throw PhantomException.Invalid("q is at most 500 characters, without NUL.", "q");
        }

        foreach (var (value, field) in new[] { (valid.UserId, "userId"), (valid.Action, "action"), (valid.ResourceType, "resourceType") })
        {
            if (value is { Length: > 255 } || value?.Contains('\0') == true)
            {
                throw PhantomException.Invalid($"{field} is at most 255 characters, without NUL.", field);
            }
        }

        if (valid.Result is not null and not (AuditEvent.Success or AuditEvent.Failure or AuditEvent.Denied))
        {
            throw PhantomException.Invalid("result must be success, failure or denied.", "result");
        }

        if (valid.MinRisk is < 0 or > 1)
        {
            throw PhantomException.Invalid("minRisk is between 0 and 1.", "minRisk");
        }

        if (valid.From > valid.To)
        {
            throw PhantomException.Invalid("from must not be after to.", "from");
        }

        var sort = valid.Sort ?? "newest";
        if (!Sorts.Contains(sort))
        {
            throw PhantomException.Invalid($"sort is one of {string.Join(", ", Sorts)}.", "sort");
        }

        var after = valid.Cursor is null ? null : SearchCursor.Decode(valid.Cursor)
            ?? throw PhantomException.Invalid("cursor is not one this API returned.", "cursor");
        var terms = Terms(valid.Text ?? "");
        return terms.Count > 20
            ? throw PhantomException.Invalid("A search has at most 20 words, phrases and prefixes.", "q")
            : new ParsedAuditSearch(valid, terms, sort, after);
    }

    private static List<SearchTerm> Terms(string text)
    {
        var terms = new List<SearchTerm>();
        foreach (Match match in TermPattern().Matches(text))
        {
            if (match.Groups[1].Success)
            {
                if (match.Groups[1].Value.Trim().Length > 0)
                {
                    terms.Add(new SearchTerm(SearchTerm.Phrase, match.Groups[1].Value.Trim()));
                }
            }
            else if (match.Value.EndsWith('*'))
            {
                // A prefix is one lexeme: keep its letters and digits, lower-case, as the index stores them.
                var stem = new string(match.Value.TrimEnd('*').Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();
                if (stem.Length > 0)
                {
                    terms.Add(new SearchTerm(SearchTerm.Prefix, stem));
                }
            }
            else
            {
                terms.Add(new SearchTerm(SearchTerm.Word, match.Value));
            }
        }

        return terms;
    }

    [GeneratedRegex("\"([^\"]*)\"?|[^\\s\"]+")]
    private static partial Regex TermPattern();
}
