using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// One loaded ONNX model: its session and its input schema. Scoring checks every row against the schema (names,
/// numeric values; inputs of shape [-1, 1] or [-1], as ML.NET exports them) and runs all rows as one batch.
/// Thread-safe: ONNX Runtime sessions allow concurrent Run calls.
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HashSet<string> _floatInputs;
    private int _users;
    private bool _evicted;

    /// <summary>Loads a model after <see cref="OnnxGraphCheck"/> passed it, running on <paramref name="threads"/> ONNX Runtime threads.</summary>
    /// <remarks>
    /// Tenants' sessions run without ONNX Runtime's memory arena: the CPU arena can only be capped per process (an
    /// environment allocator shared by every session), not per session, and an uncapped arena keeps the peak of every run.
    /// Without it a run returns its memory when it ends; what one run may take is bounded by the rows per request, and
    /// what a tenant's loaded models take by <see cref="OnnxModelCache"/>.
    /// </remarks>
    public OnnxModel(byte[] onnx, int threads = 1)
    {
        OnnxGraphCheck.Inspect(onnx);
        using var options = new SessionOptions
        {
            // More threads than cores only take turns; and ONNX Runtime's threads spin while they wait for work, which on a
            // busy silo takes the cores from everything else (measured on 2 cores with 4 threads: a one-row prediction at
            // concurrency 1 took 3 ms instead of 0.4).
            IntraOpNumThreads = Math.Clamp(threads, 1, Environment.ProcessorCount),
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            EnableCpuMemArena = false,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(onnx, options);
        SizeBytes = onnx.LongLength;
        Inputs = [.. _session.InputMetadata.Select(input => new ModelInput(input.Key, input.Value.ElementType.Name, input.Value.Dimensions))];
        _floatInputs = [.. _session.InputMetadata.Where(input => input.Value.ElementType == typeof(float)).Select(input => input.Key)];
        foreach (var input in _session.InputMetadata)
        {
            if (input.Value.ElementType != typeof(float) && input.Value.ElementType != typeof(double) && input.Value.ElementType != typeof(long)
                && input.Value.ElementType != typeof(int))
            {
                throw PhantomException.Invalid($"The model's input '{input.Key}' is {input.Value.ElementType.Name}; only numeric inputs can be " +
                    $"served.", "artifact");
            }

            if (input.Value.Dimensions.Length > 2 || (input.Value.Dimensions.Length == 2 && input.Value.Dimensions[1] != 1))
            {
                throw PhantomException.Invalid($"The model's input '{input.Key}' has shape [{string.Join(", ", input.Value.Dimensions)}]; one " +
                    $"value per row is served.", "artifact");
            }
        }
    }

    /// <summary>The ONNX size, the unit of the session budget.</summary>
    public long SizeBytes { get; }

    /// <summary>What the model expects.</summary>
    public IReadOnlyList<ModelInput> Inputs { get; }

    /// <summary>Scores <paramref name="rows"/>; 400 with details when a row does not fit the schema.</summary>
    public IReadOnlyList<RowPrediction> Predict(IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        Validate(rows);
        return Run(rows);
    }

    /// <summary>Checks rows against the model's inputs; 400 naming the first row that does not fit.</summary>
    public void Validate(IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r] ?? throw PhantomException.Invalid($"Row {r} is null.", $"rows[{r}]");
            var missing = Inputs.Where(input => !row.ContainsKey(input.Name)).Select(input => input.Name).ToList();
            var unknown = row.Keys.Where(name => Inputs.All(input => input.Name != name)).ToList();
            if (missing.Count > 0 || unknown.Count > 0)
            {
                throw PhantomException.Invalid(
                    $"Row {r} does not fit the model's inputs ({string.Join(", ", Inputs.Select(i => i.Name))})" +
                    (missing.Count > 0 ? $"; missing: {string.Join(", ", missing)}" : "")
                        + (unknown.Count > 0 ? $"; unknown: {string.Join(", ", unknown)}" : "") + ".",
                    $"rows[{r}]");
            }

            foreach (var (name, value) in row)
            {
                if (!double.IsFinite(value))
                {
                    throw PhantomException.Invalid($"Row {r}: '{name}' is {value}; inputs are finite numbers.", $"rows[{r}].{name}");
                }

                if (Math.Abs(value) > float.MaxValue && _floatInputs.Contains(name))
                {
                    throw PhantomException.Invalid($"Row {r}: '{name}' is {value}, beyond what the model's float input holds.", $"rows[{r}].{name}");
                }
            }
        }

    }

    /// <summary>Scores rows already checked by <see cref="Validate"/>, all in one ONNX Runtime call.</summary>
    public IReadOnlyList<RowPrediction> Run(IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        var inputs = _session.InputMetadata.Select(input => Tensor(input.Key, input.Value, rows)).ToList();
        using var results = _session.Run(inputs);
        var outputs = results.ToDictionary(result => result.Name, result => result);
        var predictions = new RowPrediction[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            var values = new Dictionary<string, double>();
            foreach (var (name, output) in outputs)
            {
                var shortName = name.EndsWith(".output", StringComparison.Ordinal) ? name[..^".output".Length] : name;
                if (Inputs.Any(input => input.Name == shortName) || shortName.EndsWith("unusedOutput", StringComparison.Ordinal)
                    || Value(output, r, rows.Count) is not { } value)
                {
                    continue; // features passed through, ML.NET's placeholder for dropped columns, or not a number per row
                }

                values[shortName] = value;
            }

            var label = values.TryGetValue("PredictedLabel", out var predicted) ? predicted : (double?)null;
            var probability = values.TryGetValue("Probability", out var p) ? p : (double?)null;
            predictions[r] = new RowPrediction(label ?? values.GetValueOrDefault("Score"),
                label is { } l && probability is { } pr ? (l >= 0.5 ? pr : 1 - pr) : null, values);
        }

        return predictions;
    }

    /// <summary>Counts a caller in; false when the model was unloaded meanwhile (load it again).</summary>
    public bool TryAcquire()
    {
        lock (_session)
        {
            if (_evicted)
            {
                return false;
            }

            _users++;
            return true;
        }
    }

    /// <summary>Counts a caller out; the last one out of an unloaded model frees it.</summary>
    public void Release()
    {
        lock (_session)
        {
            if (--_users == 0 && _evicted)
            {
                _session.Dispose();
            }
        }
    }

    /// <summary>Unloads the model once nobody uses it.</summary>
    public void Dispose()
    {
        lock (_session)
        {
            _evicted = true;
            if (_users == 0)
            {
                _session.Dispose();
            }
        }
    }

    private static NamedOnnxValue Tensor(string name, NodeMetadata metadata, IReadOnlyList<IReadOnlyDictionary<string, double>> rows)
    {
        int[] shape = metadata.Dimensions.Length == 2 ? [rows.Count, 1] : [rows.Count];
        var type = metadata.ElementType;
        return type == typeof(float) ? NamedOnnxValue.CreateFromTensor(name,
            new DenseTensor<float>(rows.Select(row => (float)row[name]).ToArray(), shape))
            : type == typeof(double) ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(rows.Select(row => row[name]).ToArray(), shape))
            : type == typeof(long) ? NamedOnnxValue.CreateFromTensor(name,
                new DenseTensor<long>(rows.Select(row => (long)row[name]).ToArray(), shape))
            : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(rows.Select(row => (int)row[name]).ToArray(), shape));
    }

    /// <summary>Row <paramref name="row"/>'s value of an output that has one number per row; null for anything else.</summary>
    private static double? Value(DisposableNamedOnnxValue output, int row, int rows) => output.Value switch
    {
        Tensor<float> t when t.Length == rows => t.GetValue(row),
        Tensor<double> t when t.Length == rows => t.GetValue(row),
        Tensor<bool> t when t.Length == rows => t.GetValue(row) ? 1 : 0,
        Tensor<long> t when t.Length == rows => t.GetValue(row),
        Tensor<int> t when t.Length == rows => t.GetValue(row),
        _ => null,
    };
}
