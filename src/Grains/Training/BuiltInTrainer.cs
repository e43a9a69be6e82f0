using Microsoft.ML;
using Microsoft.ML.Data;

namespace PhantomMl.Grains.Training;

/// <summary>The metrics of one training round, evaluated on the held-out split.</summary>
public sealed record RoundResult(int Round, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// A trained model as ONNX, with its held-out metrics and the input columns it expects. A run stopped early by its
/// round callback has no ONNX (nobody keeps a pruned trial).
/// </summary>
public sealed record TrainedModel(byte[]? Onnx, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<string> Features, long TrainingRows,
    long TestRows, int Rounds, bool StoppedEarly)
{
    /// <summary>The ML.NET model itself, for callers in this process (ONNX is what is stored).</summary>
    public ITransformer? Transformer { get; init; }
}

/// <summary>
/// ML.NET on a CSV file: binary classification or regression with FastTree, LightGBM or SDCA. It trains in rounds
/// of growing size (trees, or SDCA iterations), evaluating each on a held-out split and reporting it, so a run
/// streams a learning curve; the last round is the model, exported to ONNX with one input per feature column.
/// CPU-bound and synchronous: callers run it on the thread pool, never on a grain's scheduler.
/// </summary>
public static class BuiltInTrainer
{
    /// <summary>
    /// Trains on <paramref name="csvPath"/>; <paramref name="onRound"/> hears each round and answers whether to go on (false
    /// stops the run early, as a search's median rule does). Cancellation stops the run between rounds (ML.NET 5 keeps
    /// cancelling a fit internal), so rounds are the unit of responsiveness.
    /// </summary>
    public static TrainedModel Train(string csvPath, TrainingRecipe recipe, Func<RoundResult, bool> onRound, CancellationToken cancellationToken)
    {
        var header = File.ReadLines(csvPath).FirstOrDefault()?.Split(',').Select(h => h.Trim()).ToArray()
            ?? throw PhantomException.Invalid("The dataset is empty.", "datasetUri");
        var labelIndex = Array.IndexOf(header, recipe.Label);
        if (labelIndex < 0)
        {
            throw PhantomException.Invalid($"The dataset has no column '{recipe.Label}' (config.label); its columns: " +
                $"{string.Join(", ", header.Take(20))}.", "config.label");
        }

        var features = header.Where((_, i) => i != labelIndex).ToArray();
        if (features.Length == 0 || features.Any(f => f.Length == 0 || !f.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            || features.Distinct().Count() != features.Length)
        {
            throw PhantomException.Invalid("Feature columns need distinct names of letters, digits and '_'.", "datasetUri");
        }

        var ml = new MLContext(recipe.Seed);
        var binary = recipe.Task == TrainingRecipe.BinaryClassification;
        var columns = header.Select((name, i) => new TextLoader.Column(i == labelIndex ? "Label" : name,
            i == labelIndex && binary ? DataKind.Boolean : DataKind.Single, i)).ToArray();
        var data = ml.Data.LoadFromTextFile(csvPath, new TextLoader.Options { Columns = columns, HasHeader = true, Separators = [','] });
        var split = ml.Data.TrainTestSplit(data, recipe.TestFraction, seed: recipe.Seed);
        var (trainRows, testRows) = (CountRows(split.TrainSet), CountRows(split.TestSet));
        if (trainRows < 10 || testRows < 2)
        {
            throw PhantomException.Invalid($"The dataset has {trainRows + testRows} rows; the trainer needs at least 12.", "datasetUri");
        }

        ITransformer? model = null;
        IReadOnlyDictionary<string, double> metrics = new Dictionary<string, double>();
        var rounds = 0;
        for (var round = 1; round <= recipe.Rounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = Math.Max(1, (recipe.Algorithm == "sdca" ? recipe.Iterations : recipe.Trees) * round / recipe.Rounds);
            var pipeline = ml.Transforms.Concatenate("Features", features)
                .Append(ml.Transforms.NormalizeMinMax("Features"))
                .Append(binary ? BinaryTrainer(ml, recipe, size) : RegressionTrainer(ml, recipe, size));
            model = pipeline.Fit(split.TrainSet);
            var scored = model.Transform(split.TestSet);
            metrics = binary ? BinaryMetrics(ml, scored) : RegressionMetrics(ml, scored);
            rounds = round;
            if (!onRound(new RoundResult(round, metrics)) && round < recipe.Rounds)
            {
                return new TrainedModel(null, metrics, features, trainRows, testRows, rounds, StoppedEarly: true);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var onnx = new MemoryStream();
        // Exported against a view of the file without its label column, so the label is not an input of the ONNX model
        // (ONNX export follows a view back to its loader: dropping the column from the training view would not do).
        var featuresOnly = ml.Data.LoadFromTextFile(csvPath, new TextLoader.Options
        {
            Columns = columns.Where(column => column.Name != "Label").ToArray(), HasHeader = true, Separators = [','],
        });
        ml.Model.ConvertToOnnx(model!, featuresOnly, onnx);
        return new TrainedModel(onnx.ToArray(), metrics, features, trainRows, testRows, rounds, StoppedEarly: false) { Transformer = model };
    }

    private static IEstimator<ITransformer> BinaryTrainer(MLContext ml, TrainingRecipe recipe, int size) => recipe.Algorithm switch
    {
        "lightgbm" => ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: recipe.Leaves, numberOfIterations: size,
            learningRate: recipe.LearningRate),
        "sdca" => ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: size),
        _ => ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: recipe.Leaves, numberOfTrees: size, learningRate: recipe.LearningRate),
    };

    private static IEstimator<ITransformer> RegressionTrainer(MLContext ml, TrainingRecipe recipe, int size) => recipe.Algorithm switch
    {
        "lightgbm" => ml.Regression.Trainers.LightGbm(numberOfLeaves: recipe.Leaves, numberOfIterations: size, learningRate: recipe.LearningRate),
        "sdca" => ml.Regression.Trainers.Sdca(maximumNumberOfIterations: size),
        _ => ml.Regression.Trainers.FastTree(numberOfLeaves: recipe.Leaves, numberOfTrees: size, learningRate: recipe.LearningRate),
    };

    private static Dictionary<string, double> BinaryMetrics(MLContext ml, IDataView scored)
    {
        var m = ml.BinaryClassification.Evaluate(scored);
        return new Dictionary<string, double>
        {
            ["accuracy"] = m.Accuracy,
            ["precision"] = m.PositivePrecision,
            ["recall"] = m.PositiveRecall,
            ["f1"] = m.F1Score,
            ["auc"] = m.AreaUnderRocCurve,
            ["log_loss"] = m.LogLoss,
        };
    }

    private static Dictionary<string, double> RegressionMetrics(MLContext ml, IDataView scored)
    {
        var m = ml.Regression.Evaluate(scored);
        return new Dictionary<string, double> { ["rmse"] = m.RootMeanSquaredError, ["r2"] = m.RSquared, ["mae"] = m.MeanAbsoluteError };
    }

    private static long CountRows(IDataView view)
    {
        long rows = 0;
        using var cursor = view.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            rows++;
        }

        return rows;
    }
}
