using System.Text.Json.Nodes;
using PhantomMl.Grains.Agents;

namespace PhantomMl.Tests.Agents;

/// <summary>Workflow definitions: what is refused, the order steps run in, references and conditions.</summary>
public sealed class WorkflowDefinitionTests
{
    [Theory]
    [InlineData("""{"steps": []}""", "definition.steps")]
    [InlineData("""{"steps": [{"name": "a"}]}""", "definition.steps[0].agent")]
    [InlineData("""{"steps": [{"name": "../a", "agent": "x"}]}""", "definition.steps[0].name")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x"}, {"name": "a", "agent": "y"}]}""", "definition.steps")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "dependsOn": ["b"]}]}""", "definition.steps")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "dependsOn": ["a"]}]}""", "definition.steps")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "dependsOn": ["b"]}, {"name": "b", "agent": "x", "dependsOn": ["a"]}]}""", "definition.steps")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "when": {"path": "input.x", "resembles": 1}}]}""", "definition.steps[0].when")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "forEach": "input.items"}]}""", "definition.steps[0].forEach")]
    [InlineData("""{"steps": [{"name": "a", "agent": "x", "with": [1]}]}""", "definition.steps[0].with")]
    [InlineData("""[1, 2]""", "definition")]
    public void Malformed_definitions_are_refused_naming_the_member(string json, string field)
    {
        var error = Assert.Throws<PhantomException>(() => WorkflowDefinition.Parse(json));
        Assert.Equal(400, error.Status);
        Assert.Equal(field, error.Extensions["field"]);
    }

    [Fact]
    public void Steps_are_ordered_after_their_dependencies()
    {
        var definition = WorkflowDefinition.Parse("""
            {"steps": [
              {"name": "promote", "agent": "p", "dependsOn": ["approve"]},
              {"name": "approve", "agent": "a", "dependsOn": ["evaluate", "train"]},
              {"name": "evaluate", "agent": "e", "dependsOn": ["train"]},
              {"name": "train", "agent": "t"}
            ]}
            """);
        Assert.Equal(["train", "evaluate", "approve", "promote"], definition.Ordered().Select(step => step.Name));
    }

    [Fact]
    public void References_keep_their_type_when_alone_and_are_interpolated_in_text_and_a_missing_one_is_an_error()
    {
        var scope = JsonNode.Parse("""
            {"input": {"threshold": 0.8, "tags": ["a", "b"]}, "steps": {"train": {"status": "completed", "output": {"version": "v7", "n": 3}}}}
            """)!.AsObject();
        var resolved = WorkflowDefinition.Resolve(JsonNode.Parse("""
            {"version": "${steps.train.output.version}", "threshold": "${input.threshold}", "first": "${input.tags.0}",
             "note": "trained ${steps.train.output.version} with ${steps.train.output.n} trees", "fixed": 5, "list": ["${input.tags}"]}
            """), scope)!;
        Assert.Equal("v7", resolved["version"]!.GetValue<string>());
        Assert.Equal(0.8, resolved["threshold"]!.GetValue<double>(), 12);
        Assert.Equal("a", resolved["first"]!.GetValue<string>());
        Assert.Equal("trained v7 with 3 trees", resolved["note"]!.GetValue<string>());
        Assert.Equal(5, resolved["fixed"]!.GetValue<int>());
        Assert.Equal("""[["a","b"]]""", resolved["list"]!.ToJsonString());

        var error = Assert.Throws<PhantomException>(() => WorkflowDefinition.Resolve(JsonValue.Create("${steps.evaluate.output.passed}"), scope));
        Assert.Contains("steps.evaluate.output.passed", error.Detail);
    }

    [Theory]
    [InlineData("""{"path": "steps.e.output.passed", "equals": true}""", true)]
    [InlineData("""{"path": "steps.e.output.passed", "equals": false}""", false)]
    [InlineData("""{"path": "steps.e.output.passed", "notEquals": false}""", true)]
    [InlineData("""{"path": "steps.e.output.value", "greaterThan": 0.9}""", true)]
    [InlineData("""{"path": "steps.e.output.value", "lessThan": 0.9}""", false)]
    [InlineData("""{"path": "steps.e.output.missing", "exists": true}""", false)]
    [InlineData("""{"path": "steps.e.output.value", "exists": true}""", true)]
    [InlineData("""{"path": "steps.e.output.missing", "notEquals": 1}""", true)]
    public void Conditions_read_earlier_outputs(string when, bool holds)
    {
        var definition = WorkflowDefinition.Parse($$"""{"steps": [{"name": "s", "agent": "x", "when": {{when}}}]}""");
        var scope = JsonNode.Parse("""{"steps": {"e": {"output": {"passed": true, "value": 0.93}}}}""")!.AsObject();
        Assert.Equal(holds, WorkflowDefinition.Holds(definition.Steps[0].When!, scope));
    }
}
