using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// A workflow's definition: <c>{"steps": [{"name", "agent", "dependsOn": [...], "with": {...}, "when": {...}, "forEach": "${...}"}]}</c>.
/// Steps form a DAG (checked: names unique, dependencies known, no cycle). <c>with</c> is the step's context, where
/// <c>${input.x}</c>, <c>${steps.train.output.version}</c>, <c>${item}</c> are replaced when the step starts (a string that
/// is only a reference takes the referenced value with its type). <c>when</c> is a condition on earlier outputs
/// (<c>{"path": "steps.evaluate.output.passed", "equals": true}</c>; also notEquals, greaterThan, lessThan, exists);
/// a false condition skips the step. <c>forEach</c> names an array: the step runs once per item (fan-out) and its
/// output is the array of the outputs.
/// </summary>
public sealed partial record WorkflowDefinition(IReadOnlyList<WorkflowStep> Steps)
{
    /// <summary>Most steps in a workflow.</summary>
    public const int MaxSteps = 50;

    private static readonly string[] Operators = ["equals", "notEquals", "greaterThan", "lessThan", "exists"];

    /// <summary>Parses and checks a definition; 400 naming what is wrong.</summary>
    public static WorkflowDefinition Parse(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw PhantomException.Invalid("The definition is a JSON object.", "definition");
        }
        catch (JsonException)
        {
            throw PhantomException.Invalid("The definition is not valid JSON.", "definition");
        }

        if (root["steps"] is not JsonArray { Count: > 0 and <= MaxSteps } steps)
        {
            throw PhantomException.Invalid($"definition.steps is an array of 1 to {MaxSteps} steps.", "definition.steps");
        }

        var parsed = new List<WorkflowStep>();
        foreach (var node in steps)
        {
            var i = parsed.Count;
            if (node is not JsonObject step)
            {
                throw PhantomException.Invalid($"Step {i} is not an object.", $"definition.steps[{i}]");
            }

            var name = AgentValidation.Name(Text(step, "name", i), $"definition.steps[{i}].name");
            var agent = AgentValidation.Name(Text(step, "agent", i), $"definition.steps[{i}].agent");
            var dependsOn = step["dependsOn"] switch
            {
                null => [],
                JsonArray array when array.All(d => d?.GetValueKind() == JsonValueKind.String) => array.Select(d => d!.GetValue<string>()).ToList(),
                _ => throw PhantomException.Invalid($"steps[{i}].dependsOn is an array of step names.", $"definition.steps[{i}].dependsOn"),
            };
            var with = step["with"] switch
            {
                null => null,
                JsonObject obj => obj,
                _ => throw PhantomException.Invalid($"steps[{i}].with is an object.", $"definition.steps[{i}].with"),
            };
            var forEach = step["forEach"] switch
            {
                null => null,
                JsonValue value when value.GetValueKind() == JsonValueKind.String && ReferenceOnly(value.GetValue<string>()) is not null =>
                    value.GetValue<string>(),
                _ => throw PhantomException.Invalid($"steps[{i}].forEach is a reference such as \"${{input.items}}\".",
                    $"definition.steps[{i}].forEach"),
            };
            parsed.Add(new WorkflowStep(name, agent, dependsOn, with, ParseCondition(step["when"], i), forEach));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in parsed.Where(step => !names.Add(step.Name)))
        {
            throw PhantomException.Invalid($"Two steps are named '{step.Name}'.", "definition.steps");
        }

        foreach (var step in parsed)
        {
            if (step.DependsOn.FirstOrDefault(d => !names.Contains(d) || d == step.Name) is { } unknown)
            {
                throw PhantomException.Invalid($"Step '{step.Name}' depends on '{unknown}', which is not another step.", "definition.steps");
            }
        }

        var definition = new WorkflowDefinition(parsed);
        definition.Ordered();
        return definition;
    }

    /// <summary>The steps in an order where every step comes after its dependencies; 400 when they form a cycle.</summary>
    public IReadOnlyList<WorkflowStep> Ordered()
    {
        var ordered = new List<WorkflowStep>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (ordered.Count < Steps.Count)
        {
            var ready = Steps.Where(step => !done.Contains(step.Name) && step.DependsOn.All(done.Contains)).ToList();
            if (ready.Count == 0)
            {
                throw PhantomException.Invalid("The steps' dependencies form a cycle.", "definition.steps");
            }

            ordered.AddRange(ready);
            done.UnionWith(ready.Select(step => step.Name));
        }

        return ordered;
    }

    /// <summary>
    /// Replaces references in <paramref name="template"/> with values of <paramref name="scope"/>; a reference to nothing
    /// is an error (the step fails naming it) rather than a silent null.
    /// </summary>
    public static JsonNode? Resolve(JsonNode? template, JsonObject scope) => template switch
    {
        JsonObject obj => new JsonObject(obj.Select(member => KeyValuePair.Create(member.Key, Resolve(member.Value, scope)))),
        JsonArray array => new JsonArray(array.Select(item => Resolve(item, scope)).ToArray()),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => ResolveText(value.GetValue<string>(), scope),
        _ => template?.DeepClone(),
    };

    /// <summary>Whether <paramref name="condition"/> holds in <paramref name="scope"/>.</summary>
    public static bool Holds(WorkflowCondition condition, JsonObject scope)
    {
        var found = Lookup(scope, condition.Path, out var value);
        return condition.Operator switch
        {
            "exists" => found && value is not null,
            "equals" => found && JsonNode.DeepEquals(value, condition.Value),
            "notEquals" => !found || !JsonNode.DeepEquals(value, condition.Value),
            "greaterThan" => found && Number(value) > Number(condition.Value),
            "lessThan" => found && Number(value) < Number(condition.Value),
            _ => false,
        };
    }

    /// <summary>The value at a dotted path (<c>steps.train.output.metrics.accuracy</c>, array items by index).</summary>
    public static bool Lookup(JsonNode? root, string path, out JsonNode? value)
    {
        value = root;
        foreach (var part in path.Split('.'))
        {
            switch (value)
            {
                case JsonObject obj when obj.TryGetPropertyValue(part, out var child):
                    value = child;
                    break;
                case JsonArray array when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < array.Count:
                    value = array[index];
                    break;
                default:
                    value = null;
                    return false;
            }
        }

        return true;
    }

    private static JsonNode? ResolveText(string text, JsonObject scope)
    {
        if (ReferenceOnly(text) is { } path)
        {
            return Lookup(scope, path, out var value)
                ? value?.DeepClone()
                : throw PhantomException.Invalid($"${{{path}}} refers to nothing.", path);
        }

        return Reference().Replace(text, match => Lookup(scope, match.Groups[1].Value, out var value)
            ? value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? ""
            : throw PhantomException.Invalid($"${{{match.Groups[1].Value}}} refers to nothing.", match.Groups[1].Value));
    }

    private static string? ReferenceOnly(string text) => Reference().Match(text) is { Success: true } match && match.Length == text.Length
        ? match.Groups[1].Value
        : null;

    private static double Number(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? value.GetValue<double>() : double.NaN;

    private static string? Text(JsonObject step, string member, int index) =>
        step[member] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : throw PhantomException.Invalid($"steps[{index}].{member} is a string.", $"definition.steps[{index}].{member}");

    private static WorkflowCondition? ParseCondition(JsonNode? node, int index)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject { Count: 2 } condition || condition["path"] is not JsonValue path || path.GetValueKind() != JsonValueKind.String
            || condition.FirstOrDefault(member => member.Key != "path") is not { Key: { } op } other || !Operators.Contains(op))
        {
            throw PhantomException.Invalid($"steps[{index}].when is {{\"path\": \"...\", \"<{string.Join("|", Operators)}>\": value}}.",
                $"definition.steps[{index}].when");
        }

        return new WorkflowCondition(path.GetValue<string>(), op, other.Value?.DeepClone());
    }

    [GeneratedRegex(@"\$\{([A-Za-z0-9_.\-]+)\}")]
    private static partial Regex Reference();
}

/// <summary>One step of a workflow.</summary>
public sealed record WorkflowStep(string Name, string Agent, IReadOnlyList<string> DependsOn, JsonObject? With, WorkflowCondition? When,
    string? ForEach);

/// <summary>A condition on the run's scope.</summary>
public sealed record WorkflowCondition(string Path, string Operator, JsonNode? Value);
