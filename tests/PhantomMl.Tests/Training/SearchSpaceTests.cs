using PhantomMl.Grains.Training;

namespace PhantomMl.Tests.Training;

/// <summary>The search space of a job's config: grid combinations, random draws within their ranges, and refusals.</summary>
public sealed class SearchSpaceTests
{
    [Fact]
    public void A_grid_is_every_combination_of_the_listed_values()
    {
        var search = SearchSpace.Parse("""{"search": {"space": {"trees": [10, 20, 30], "learningRate": [0.1, 0.2]}}}""", seed: 1)!;
        Assert.Equal(("grid", 6, "accuracy", true), (search.Strategy, search.Points.Count, search.Metric, search.Maximize));
        Assert.Equal(6, search.Points.Select(p => (p["trees"], p["learningRate"])).Distinct().Count());
        Assert.Null(SearchSpace.Parse("""{"trainer": "builtin"}""", seed: 1));
    }

    [Fact]
    public void A_random_search_draws_its_trials_within_the_ranges_reproducibly()
    {
        const string config = """{"search": {"strategy": "random", "trials": 25, "metric": "rmse", "space": {"trees": {"min": 5, "max": 500, "log": true}, "learningRate": {"min": 0.01, "max": 0.3}, "leaves": [8, 16]}}}""";
        var search = SearchSpace.Parse(config, seed: 7)!;
        Assert.Equal((25, false), (search.Points.Count, search.Maximize)); // rmse is minimised by default
        Assert.All(search.Points, p =>
        {
            Assert.InRange(p["trees"], 5, 500);
            Assert.Equal(Math.Round(p["trees"]), p["trees"]);
            Assert.InRange(p["learningRate"], 0.01, 0.3);
            Assert.Contains(p["leaves"], new[] { 8.0, 16.0 });
        });
        Assert.Equal(search.Points.Select(p => p["trees"]), SearchSpace.Parse(config, seed: 7)!.Points.Select(p => p["trees"]));
        Assert.True(search.Points.Select(p => p["trees"]).Distinct().Count() > 10);
    }

    [Theory]
    [InlineData("""{"search": {"space": {}}}""")]
    [InlineData("""{"search": {"space": {"dropout": [0.1]}}}""")]
    [InlineData("""{"search": {"strategy": "random", "space": {"trees": [1, 2]}}}""")]
    [InlineData("""{"search": {"strategy": "grid", "space": {"trees": {"min": 1, "max": 9}}}}""")]
    [InlineData("""{"search": {"strategy": "random", "trials": 3, "space": {"learningRate": {"min": 0, "max": 1, "log": true}}}}""")]
    [InlineData("""{"search": {"space": {"trees": [1,2,3,4,5,6,7,8,9,10,11], "leaves": [2,3,4,5,6,7,8,9,10,11]}}}""")]
    public void Malformed_searches_are_400(string config) =>
        Assert.Equal(400, Assert.Throws<PhantomException>(() => SearchSpace.Parse(config, seed: 1)).Status);
}
