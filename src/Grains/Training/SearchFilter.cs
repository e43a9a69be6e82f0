using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PhantomMl.Grains.Training;

/// <summary>
/// MLflow's search grammar for runs and experiments: clauses joined by AND, each <c>[type.]key comparator value</c>, the
/// type one of metrics, params, tags, attributes (no type: an attribute), a key quoted with backticks or double quotes
/// when it holds spaces or dots, values as numbers, quoted strings, or parenthesised lists of strings for IN and NOT IN.
/// Metrics compare as numbers, the rest as strings (=, !=, LIKE, ILIKE, IN, NOT IN), numeric attributes as numbers.
/// </summary>
public sealed class SearchFilter
{
    /// <summary>Longest filter accepted.</summary>
    public const int MaxLength = 4000;

    private static readonly string[] NumericComparators = ["=", "!=", "<", "<=", ">", ">="];
    private static readonly string[] StringComparators = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];

    private SearchFilter(IReadOnlyList<Clause> clauses) => Clauses = clauses;

    /// <summary>The clauses, all of which must hold.</summary>
    public IReadOnlyList<Clause> Clauses { get; }

    /// <summary>One comparison. <see cref="Value"/> is a double, a string, or a list of strings.</summary>
    public sealed record Clause(string Type, string Key, string Comparator, object Value);

    /// <summary>How an entity answers a key: a number, a string, or null when it has no such key.</summary>
    public delegate object? Resolve(string type, string key);

    /// <summary>
    /// Parses a filter (null or blank: no clause). <paramref name="numericAttributes"/> and <paramref name="stringAttributes"/>
    /// are the attributes this search knows; anything else is 400 naming it.
    /// </summary>
    public static SearchFilter Parse(string? filter, IReadOnlySet<string> numericAttributes, IReadOnlySet<string> stringAttributes,
        bool allowMetricsAndParams = true)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return new SearchFilter([]);
        }

        if (filter.Length > MaxLength)
        {
            throw Invalid($"A filter is at most {MaxLength} characters.");
        }

        var tokens = new Tokens(filter);
        var clauses = new List<Clause>();
        do
        {
            var (type, key) = Identifier(tokens.Next() ?? throw Invalid("A clause is missing."), numericAttributes, stringAttributes,
                allowMetricsAndParams);
            var comparator = tokens.Comparator() ?? throw Invalid($"A comparator is missing after '{key}'.");
            var numeric = type == "metric" || (type == "attribute" && numericAttributes.Contains(key));
            if (!(numeric ? NumericComparators : StringComparators).Contains(comparator))
            {
                throw Invalid($"'{comparator}' does not compare {(numeric ? "numbers" : "strings")} ({type} '{key}'); use one of " +
                    $"{string.Join(", ", numeric ? NumericComparators : StringComparators)}.");
            }

            object value = comparator is "IN" or "NOT IN" ? tokens.List()
                : tokens.Next() is { } token ? Value(token, numeric, key)
                : throw Invalid($"A value is missing after '{key} {comparator}'.");
            clauses.Add(new Clause(type, key, comparator, value));
        }
        while (tokens.And());

        if (tokens.Next() is { } extra)
        {
            throw Invalid($"Unexpected '{extra.Text}': clauses are joined by AND.");
        }

        return new SearchFilter(clauses);
    }

    /// <summary>Whether an entity matches every clause (a clause about a key the entity lacks does not hold).</summary>
    public bool Matches(Resolve resolve) => Clauses.All(clause => Holds(clause, resolve(clause.Type, clause.Key)));

    /// <summary>Whether any clause reads metrics (which cost a query of their own).</summary>
    public bool ReadsMetrics => Clauses.Any(clause => clause.Type == "metric");

    /// <summary>Parses one order_by clause: <c>[type.]key [ASC|DESC]</c>.</summary>
    public static (string Type, string Key, bool Descending) OrderClause(string clause, IReadOnlySet<string> numericAttributes,
        IReadOnlySet<string> stringAttributes, bool allowMetricsAndParams = true)
    {
        var tokens = new Tokens(clause ?? "");
        var (type, key) = Identifier(tokens.Next() ?? throw Invalid("An order_by clause is empty.", "order_by"), numericAttributes,
            stringAttributes, allowMetricsAndParams, "order_by");
        var direction = tokens.Next();
        var descending = direction?.Text.ToUpperInvariant() switch
        {
            null => false,
            "ASC" when direction.Kind == TokenKind.Word => false,
            "DESC" when direction.Kind == TokenKind.Word => true,
            _ => throw Invalid($"order_by '{clause}': a key, then ASC or DESC.", "order_by"),
        };
        return tokens.Next() is null ? (type, key, descending) : throw Invalid($"order_by '{clause}': a key, then ASC or DESC.", "order_by");
    }

    private static bool Holds(Clause clause, object? actual)
    {
        switch (clause.Value)
        {
            case double expected when actual is double number:
                var order = number.CompareTo(expected);
                return clause.Comparator switch
                {
                    "=" => order == 0, "!=" => order != 0, "<" => order < 0, "<=" => order <= 0, ">" => order > 0, _ => order >= 0,
                };
            case string expected when actual is string text:
                return clause.Comparator switch
                {
                    "=" => text == expected,
                    "!=" => text != expected,
                    "LIKE" => Like(expected, RegexOptions.None).IsMatch(text),
                    _ => Like(expected, RegexOptions.IgnoreCase).IsMatch(text),
                };
            case IReadOnlyList<string> list when actual is string text:
                return clause.Comparator == "IN" ? list.Contains(text) : !list.Contains(text);
            default:
                return false;
        }
    }

    /// <summary>SQL LIKE as a regular expression: % any run of characters, _ one character.</summary>
    private static Regex Like(string pattern, RegexOptions options)
    {
        var regex = new StringBuilder("^");
        foreach (var c in pattern)
        {
            regex.Append(c switch { '%' => ".*", '_' => ".", _ => Regex.Escape(c.ToString()) });
        }

        return new Regex(regex.Append('$').ToString(), options | RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    private static (string Type, string Key) Identifier(Token token, IReadOnlySet<string> numericAttributes, IReadOnlySet<string> stringAttributes,
        bool allowMetricsAndParams, string field = "filter")
    {
        if (token.Kind != TokenKind.Word && token.Kind != TokenKind.Identifier)
        {
            throw Invalid($"Expected a key, found '{token.Text}'.", field);
        }

        var (prefix, key) = token.Kind == TokenKind.Identifier ? (token.Prefix!, token.Text)
            : token.Text.IndexOf('.') is var dot and > 0 ? (token.Text[..dot], token.Text[(dot + 1)..]) : ("attribute", token.Text);
        var type = prefix.ToLowerInvariant() switch
        {
            "metric" or "metrics" when allowMetricsAndParams => "metric",
            "param" or "params" or "parameter" or "parameters" when allowMetricsAndParams => "param",
            "tag" or "tags" => "tag",
            "attribute" or "attributes" or "attr" or "run" => "attribute",
            _ => throw Invalid($"Invalid entity type '{prefix}': use {(allowMetricsAndParams ? "metrics, params, " : "")}tags or attributes.", field),
        };
        if (string.IsNullOrEmpty(key))
        {
            throw Invalid($"A {type} key is missing.", field);
        }

        if (type == "attribute" && !numericAttributes.Contains(key) && !stringAttributes.Contains(key))
        {
            throw Invalid($"Invalid attribute key '{key}': one of {string.Join(", ", numericAttributes.Concat(stringAttributes).Order())}.", field);
        }

        return (type, key);
    }

    private static object Value(Token token, bool numeric, string key)
    {
        if (numeric)
        {
            return token.Kind == TokenKind.Word && double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw Invalid($"'{key}' compares with a number, not '{token.Text}'.");
        }

        return token.Kind == TokenKind.String ? token.Text : throw Invalid($"'{key}' compares with a quoted string, not '{token.Text}'.");
    }

    private static PhantomException Invalid(string detail, string field = "filter") => PhantomException.Invalid(detail, field);

    private enum TokenKind { Word, String, Identifier, Symbol }

    private sealed record Token(TokenKind Kind, string Text, string? Prefix = null);

    /// <summary>The filter's tokens: words (keys, numbers, AND, LIKE...), quoted strings, quoted keys after a type, symbols.</summary>
    private sealed class Tokens(string text)
    {
        private int _at;

        public Token? Next()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }

            if (_at >= text.Length)
            {
                return null;
            }

            var c = text[_at];
            if (c is '\'' or '"' or '`')
            {
                return new Token(c == '`' ? TokenKind.Identifier : TokenKind.String, Quoted(), c == '`' ? "attribute" : null);
            }

            if (c is '(' or ')' or ',')
            {
                _at++;
                return new Token(TokenKind.Symbol, c.ToString());
            }

            if (c is '=' or '!' or '<' or '>')
            {
                var start = _at++;
                if (_at < text.Length && text[_at] == '=')
                {
                    _at++;
                }

                var symbol = text[start.._at];
                return symbol == "!" ? throw Invalid("'!' is only part of '!='.") : new Token(TokenKind.Symbol, symbol);
            }

            var begin = _at;
            while (_at < text.Length && !char.IsWhiteSpace(text[_at]) && text[_at] is not ('=' or '!' or '<' or '>' or '(' or ')' or ','))
            {
                if (text[_at] is '"' or '`' && _at > begin && text[_at - 1] == '.')
                {
                    // metrics."my metric" or tags.`a.b`: a quoted key after its type.
                    var prefix = text[begin..(_at - 1)];
                    return new Token(TokenKind.Identifier, Quoted(), prefix);
                }

                if (text[_at] is '\'' or '"' or '`')
                {
                    throw Invalid($"Unexpected quote in '{text[begin..(_at + 1)]}'.");
                }

                _at++;
            }

            return new Token(TokenKind.Word, text[begin.._at]);
        }

        public string? Comparator()
        {
            var token = Next();
            if (token is null)
            {
                return null;
            }

            var word = token.Text.ToUpperInvariant();
            if (token.Kind == TokenKind.Word && word == "NOT")
            {
                return Next() is { Kind: TokenKind.Word } following && following.Text.Equals("IN", StringComparison.OrdinalIgnoreCase)
                    ? "NOT IN"
                    : throw Invalid("NOT is only part of NOT IN.");
            }

            return token.Kind == TokenKind.Symbol && token.Text is not ("(" or ")" or ",") ? token.Text
                : token.Kind == TokenKind.Word && word is "LIKE" or "ILIKE" or "IN" ? word
                : throw Invalid($"Expected a comparator, found '{token.Text}'.");
        }

        public List<string> List()
        {
            if (Next() is not { Kind: TokenKind.Symbol, Text: "(" })
            {
                throw Invalid("IN takes a parenthesised list of quoted strings: ('a', 'b').");
            }

            var values = new List<string>();
            while (true)
            {
                values.Add(Next() is { Kind: TokenKind.String } value ? value.Text : throw Invalid("IN lists hold quoted strings."));
                switch (Next())
                {
                    case { Kind: TokenKind.Symbol, Text: "," }:
                        continue;
                    case { Kind: TokenKind.Symbol, Text: ")" }:
                        return values;
                    default:
                        throw Invalid("An IN list ends with ')'.");
                }
            }
        }

        public bool And()
        {
            var mark = _at;
            if (Next() is { Kind: TokenKind.Word } token && token.Text.Equals("AND", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            _at = mark;
            return false;
        }

        private string Quoted()
        {
            var quote = text[_at++];
            var value = new StringBuilder();
            while (_at < text.Length)
            {
                var c = text[_at++];
                if (c == quote)
                {
                    // A doubled quote stands for itself ('it''s').
                    if (_at < text.Length && text[_at] == quote)
                    {
                        value.Append(quote);
                        _at++;
                        continue;
                    }

                    return value.ToString();
                }

                value.Append(c);
            }

            throw Invalid("A quoted string or key is not closed.");
        }
    }
}
