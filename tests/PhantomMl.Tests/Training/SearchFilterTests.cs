using PhantomMl.Grains.Training;

namespace PhantomMl.Tests.Training;

/// <summary>MLflow's search grammar as the platform parses and evaluates it.</summary>
public sealed class SearchFilterTests
{
    private static readonly HashSet<string> Numeric = ["start_time"];
    private static readonly HashSet<string> Strings = ["status", "run_name"];

    private static readonly Dictionary<(string, string), object> Run = new()
    {
        [("metric", "loss")] = 0.25,
        [("metric", "val loss")] = 0.5,
        [("param", "lr")] = "0.01",
        [("param", "model.depth")] = "8",
        [("tag", "team")] = "Vision",
        [("attribute", "status")] = "FINISHED",
        [("attribute", "run_name")] = "it's-a-run",
        [("attribute", "start_time")] = 1_700_000_000_000.0,
    };

    [Theory]
    [InlineData("metrics.loss < 0.3", true)]
    [InlineData("metrics.loss >= 0.3", false)]
    [InlineData("metric.loss = 0.25 AND params.lr = '0.01'", true)]
    [InlineData("metrics.loss = 0.25 and params.lr != '0.01'", false)]
    [InlineData("metrics.`val loss` <= 0.5", true)]
    [InlineData("metrics.\"val loss\" > 0.5", false)]
    [InlineData("params.`model.depth` = \"8\"", true)]
    [InlineData("tags.team LIKE 'Vis%'", true)]
    [InlineData("tags.team LIKE 'vis%'", false)]
    [InlineData("tags.team ILIKE 'vis_on'", true)]
    [InlineData("attributes.status IN ('FINISHED', 'FAILED')", true)]
    [InlineData("status NOT IN ('FINISHED')", false)]
    [InlineData("run_name = 'it''s-a-run'", true)]
    [InlineData("attributes.start_time > 1600000000000", true)]
    [InlineData("metrics.missing > 0", false)]
    [InlineData("tags.missing != 'x'", false)]
    [InlineData("", true)]
    public void A_filter_holds_when_every_clause_does(string filter, bool expected)
    {
        var parsed = SearchFilter.Parse(filter, Numeric, Strings);
        Assert.Equal(expected, parsed.Matches((type, key) => Run.GetValueOrDefault((type, key))));
    }

    [Theory]
    [InlineData("metrics.loss LIKE '0.2%'")]
    [InlineData("metrics.loss < 'low'")]
    [InlineData("params.lr < '0.1'")]
    [InlineData("params.lr = 0.01")]
    [InlineData("nonsense.key = 'x'")]
    [InlineData("attributes.unknown = 'x'")]
    [InlineData("metrics.loss <")]
    [InlineData("metrics.loss < 1 OR metrics.loss > 2")]
    [InlineData("tags.team = 'unclosed")]
    [InlineData("status IN 'FINISHED'")]
    [InlineData("status IN ('FINISHED'")]
    [InlineData("metrics.loss ! 1")]
    public void A_malformed_filter_is_refused_with_400(string filter)
    {
        var refused = Assert.Throws<PhantomException>(() => SearchFilter.Parse(filter, Numeric, Strings));
        Assert.Equal(400, refused.Status);
    }

    [Fact]
    public void Order_clauses_name_a_key_and_a_direction()
    {
        Assert.Equal(("metric", "val loss", true), SearchFilter.OrderClause("metrics.`val loss` DESC", Numeric, Strings));
        Assert.Equal(("attribute", "start_time", false), SearchFilter.OrderClause("start_time", Numeric, Strings));
        Assert.Equal(400, Assert.Throws<PhantomException>(() => SearchFilter.OrderClause("metrics.loss sideways", Numeric, Strings)).Status);
    }

    [Fact]
    public void Experiment_searches_know_no_metrics_or_params()
    {
        Assert.Equal(400, Assert.Throws<PhantomException>(() =>
            SearchFilter.Parse("metrics.loss > 1", Numeric, Strings, allowMetricsAndParams: false)).Status);
        Assert.True(SearchFilter.Parse("tags.team = 'Vision'", Numeric, Strings, allowMetricsAndParams: false)
            .Matches((type, key) => Run.GetValueOrDefault((type, key))));
    }
}
