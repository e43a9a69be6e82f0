using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace PhantomMl.Grains.Models;

/// <summary>
/// The legal moves between model_status_enum values (the lifecycle table of docs/model-registry.md is this dictionary).
/// archived is final: an archived model can only be deleted.
/// </summary>
public static partial class ModelLifecycle
{
    public static readonly FrozenDictionary<string, FrozenSet<string>> Transitions = new Dictionary<string, string[]>
    {
        ["created"] = ["training", "trained", "archived"],
        ["training"] = ["trained", "failed", "archived"],
        ["trained"] = ["validating", "staging", "active", "archived"],
        ["validating"] = ["trained", "staging", "failed", "archived"],
        ["staging"] = ["active", "deprecated", "archived"],
        ["active"] = ["staging", "deprecated", "archived"],
        ["deprecated"] = ["active", "archived"],
        ["failed"] = ["training", "archived"],
        ["archived"] = [],
    }.ToFrozenDictionary(t => t.Key, t => t.Value.ToFrozenSet());

    public static void RequireTransition(string from, string to)
    {
        if (!Transitions.ContainsKey(to))
        {
            throw PhantomException.Invalid($"status must be one of {string.Join(", ", Transitions.Keys)}.", "status");
        }

        if (!Transitions[from].Contains(to))
        {
            throw PhantomException.Conflict($"A model that is {from} cannot become {to}; from {from} it can become: " +
                $"{string.Join(", ", Transitions[from].DefaultIfEmpty("nothing (delete it)"))}.");
        }
    }

    public static string Name(string? name) => name is not null && NamePattern().IsMatch(name)
        ? name
        : throw PhantomException.Invalid("A model name is 1-128 of letters, digits, '.', '_', '-', starting with a letter or digit.", "name");

    public static string Label(string? value, string field) => value is not null && LabelPattern().IsMatch(value)
        ? value
        : throw PhantomException.Invalid($"{field} is 1-50 of letters, digits, '.', '_', '-', '+', starting with a letter or digit.", field);

    public static string Alias(string? alias) => alias is not null && AliasPattern().IsMatch(alias)
        ? alias
        : throw PhantomException.Invalid("An alias is 1-64 lowercase letters, digits, '_' or '-', starting with a letter.", "alias");

    public static string Word(string? value, string field) => value is not null && WordPattern().IsMatch(value)
        ? value
        : throw PhantomException.Invalid($"{field} is 1-100 of letters, digits, '.', '_', '-'.", field);

    public static bool IsTagKey(string key) => WordPattern().IsMatch(key);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")]
    private static partial Regex LabelPattern();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,63}$")]
    private static partial Regex AliasPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex WordPattern();
}
