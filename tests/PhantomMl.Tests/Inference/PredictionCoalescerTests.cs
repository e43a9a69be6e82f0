using System.Collections.Concurrent;
using PhantomMl.Grains.Inference;

namespace PhantomMl.Tests.Inference;

/// <summary>
/// The coalescer the SDK and the HTTP front end share, in process: its "grain call" is a function that answers each
/// request by its own content after a short wait, so what is checked is the coalescer's own bookkeeping.
/// </summary>
public sealed class PredictionCoalescerTests
{
    [Fact]
    public async Task Each_request_gets_its_own_answer_lanes_never_mix_or_exceed_their_calls_in_flight_and_idle_lanes_are_not_kept()
    {
        var inFlight = new ConcurrentDictionary<string, int>();
        var mostInFlight = new ConcurrentDictionary<string, int>();
        var calls = 0;
        var coalescer = new PredictionCoalescer<string>(async (lane, requests) =>
        {
            Interlocked.Increment(ref calls);
            var now = inFlight.AddOrUpdate(lane, 1, (_, n) => n + 1);
            mostInFlight.AddOrUpdate(lane, now, (_, most) => Math.Max(most, now));
            await Task.Delay(2);
            inFlight.AddOrUpdate(lane, 0, (_, n) => n - 1);
            if (lane == "broken")
            {
                throw new InvalidOperationException("the call failed");
            }

            // A request's answer is its lane and its own value; a negative value is refused, as the silo refuses alone.
            return [.. requests.Select(request => request.Rows[0]["x"] < 0
                ? new PredictOutcome(null, PhantomException.Invalid($"{lane}: {request.Rows[0]["x"]} is negative.", "rows"))
                : new PredictOutcome(new PredictionView(lane, "1", [new RowPrediction(request.Rows[0]["x"], null, new Dictionary<string, double>())], 0)))];
        });

        var lanes = Enumerable.Range(0, 20).Select(l => $"lane{l}").Append("broken").ToArray();
        var work = Enumerable.Range(0, 4000).Select(async i =>
        {
            await Task.Yield();
            var lane = lanes[i % lanes.Length];
            var value = i % 9 == 8 ? -i : i;
            try
            {
                var answer = await coalescer.PredictAsync(lane, new PredictRequest([new Dictionary<string, double> { ["x"] = value }]));
                return (i, lane, value, Answer: $"{answer.Model}:{answer.Predictions.Single().Prediction}");
            }
            catch (Exception e)
            {
                return (i, lane, value, Answer: e.Message);
            }
        }).ToList();
        var outcomes = await Task.WhenAll(work);

        foreach (var (_, lane, value, answer) in outcomes)
        {
            var expected = lane == "broken" ? "the call failed" : value < 0 ? $"{lane}: {value} is negative." : $"{lane}:{value}";
            Assert.Equal(expected, answer);
        }

        Assert.All(mostInFlight.Values, most => Assert.InRange(most, 1, PredictionCoalescer<string>.MaxInFlight));
        Assert.True(calls < outcomes.Length, $"{outcomes.Length} requests took {calls} calls: nothing was coalesced");
        await NoLaneLeftAsync(coalescer);

        // A lane that was retired starts again for its next request.
        var again = await coalescer.PredictAsync("lane3", new PredictRequest([new Dictionary<string, double> { ["x"] = 7 }]));
        Assert.Equal(("lane3", 7.0), (again.Model, again.Predictions.Single().Prediction));
        await NoLaneLeftAsync(coalescer);
    }

    /// <summary>A sender retires its lane just after answering its last request: the answers can arrive a moment before.</summary>
    private static async Task NoLaneLeftAsync(PredictionCoalescer<string> coalescer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (coalescer.ActiveLanes > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, coalescer.ActiveLanes);
    }
}
