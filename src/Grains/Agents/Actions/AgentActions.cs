using System.Collections.Frozen;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>The agent types the platform runs, by name.</summary>
public sealed class AgentActions(IEnumerable<IAgentAction> actions)
{
    private readonly FrozenDictionary<string, IAgentAction> _byType = actions.ToFrozenDictionary(action => action.Type);

    /// <summary>Every type's name.</summary>
    public IEnumerable<string> Types => _byType.Keys.Order(StringComparer.Ordinal);

    /// <summary>The action of <paramref name="type"/>, or 400 listing the known types.</summary>
    public IAgentAction Of(string type) => _byType.TryGetValue(type, out var action)
        ? action
        : throw PhantomException.Invalid($"agentType is one of: {string.Join(", ", Types)}.", "agentType");
}
