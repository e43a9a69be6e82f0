
using PhantomMl.Grains.Common;

namespace PhantomMl.Grains.Inference;

/// <summary>
/// Looks through a tenant's ONNX file before ONNX Runtime loads it, reading the protobuf wire format directly (nothing
/// of it is executed): every operator must come from a standard domain (no custom operator libraries), no tensor may
/// keep its data outside the file (an external-data path would make ONNX Runtime read the silo's own files), no local
/// functions or training graphs, and the graph must stay within size and nesting limits. Anything else is a 400 naming
/// what was found, before a session exists.
/// </summary>
public static class OnnxGraphCheck
{
    /// <summary>Operator domains served: the ONNX standard, ONNX-ML, and ONNX Runtime's built-in contrib operators.</summary>
    public static readonly IReadOnlySet<string> AllowedDomains = new HashSet<string>(StringComparer.Ordinal) { "", "ai.onnx", "ai.onnx.ml",
        "com.microsoft" };

    /// <summary>Most nodes in all graphs of one model.</summary>
    public const int MaxNodes = 1_000_000;

    /// <summary>Deepest nesting of subgraphs (If/Loop/Scan bodies).</summary>
    public const int MaxDepth = 8;

    /// <summary>Checks the model; returns how many nodes it has, or throws 400.</summary>
    public static int Inspect(ReadOnlyMemory<byte> onnx)
    {
        var state = new State();
        var model = new Reader(onnx);
        var sawGraph = false;
        while (model.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (7, WireType.Length): // graph
                    sawGraph = true;
                    InspectGraph(model.Bytes(), state, depth: 1);
                    break;
                case (8, WireType.Length): // opset_import
                    CheckDomain(StringField(model.Bytes(), fieldNumber: 1), "opset import");
                    break;
                case (20, WireType.Length):
                    throw Refuse("it carries a training graph (training_info)");
                case (25, WireType.Length):
                    throw Refuse("it defines local functions");
                default:
                    model.Skip(wire);
                    break;
            }
        }

        return sawGraph ? state.Nodes : throw Refuse("it has no graph");
    }

    private static void InspectGraph(ReadOnlyMemory<byte> graph, State state, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Refuse($"its subgraphs nest deeper than {MaxDepth}");
        }

        var reader = new Reader(graph);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.Length): // node
                    if (++state.Nodes > MaxNodes)
                    {
                        throw Refuse($"it has more than {MaxNodes} nodes");
                    }

                    InspectNode(reader.Bytes(), state, depth);
                    break;
                case (5, WireType.Length): // initializer
                    InspectTensor(reader.Bytes());
                    break;
                case (15, WireType.Length): // sparse_initializer: values (1) and indices (2) are tensors
                    InspectTensors(reader.Bytes(), [1, 2]);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private static void InspectNode(ReadOnlyMemory<byte> node, State state, int depth)
    {
        var reader = new Reader(node);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (7, WireType.Length): // domain
                    CheckDomain(reader.String(), "operator");
                    break;
                case (5, WireType.Length): // attribute
                    InspectAttribute(reader.Bytes(), state, depth);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private static void InspectAttribute(ReadOnlyMemory<byte> attribute, State state, int depth)
    {
        var reader = new Reader(attribute);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (5 or 10, WireType.Length): // t, tensors
                    InspectTensor(reader.Bytes());
                    break;
                case (6 or 11, WireType.Length): // g, graphs
                    InspectGraph(reader.Bytes(), state, depth + 1);
                    break;
                case (22 or 23, WireType.Length): // sparse_tensor, sparse_tensors
                    InspectTensors(reader.Bytes(), [1, 2]);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private static void InspectTensors(ReadOnlyMemory<byte> message, int[] tensorFields)
    {
        var reader = new Reader(message);
        while (reader.Next(out var field, out var wire))
        {
            if (wire == WireType.Length && tensorFields.Contains(field))
            {
                InspectTensor(reader.Bytes());
            }
            else
            {
                reader.Skip(wire);
            }
        }
    }

    private static void InspectTensor(ReadOnlyMemory<byte> tensor)
    {
        var reader = new Reader(tensor);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (13, WireType.Length): // external_data
                    throw Refuse("a tensor keeps its data in an external file");
                case (14, WireType.Varint) when reader.Varint() != 0: // data_location EXTERNAL
                    throw Refuse("a tensor keeps its data in an external file");
                case (14, WireType.Varint):
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    private static string StringField(ReadOnlyMemory<byte> message, int fieldNumber)
    {
        var reader = new Reader(message);
        var value = "";
        while (reader.Next(out var field, out var wire))
        {
            if (field == fieldNumber && wire == WireType.Length)
            {
                value = reader.String();
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return value;
    }

    private static void CheckDomain(string domain, string what)
    {
        if (!AllowedDomains.Contains(domain))
        {
            throw Refuse($"an {what} comes from the domain '{BoundedText.Shown(domain)}' (served: the ONNX standard, ai.onnx.ml and com.microsoft)");
        }
    }

    private static PhantomException Refuse(string why) => PhantomException.Invalid($"The model cannot be served: {why}.", "artifact");

    private sealed class State
    {
        public int Nodes;
    }

    private enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        Length = 2,
        Fixed32 = 5,
    }

    /// <summary>A forward reader of protobuf fields; malformed input is a 400, never an exception of its own.</summary>
    private struct Reader(ReadOnlyMemory<byte> data)
    {
        private int _position;

        public bool Next(out int field, out WireType wire)
        {
            if (_position >= data.Length)
            {
                (field, wire) = (0, default);
                return false;
            }

            var tag = Varint();
            field = (int)(tag >> 3);
            wire = (WireType)(tag & 7);
            return field > 0 && wire is WireType.Varint or WireType.Fixed64 or WireType.Length or WireType.Fixed32
                ? true
                : throw Refuse("it is not a valid ONNX file");
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= data.Length)
                {
                    throw Refuse("it is not a valid ONNX file (truncated)");
                }

                var b = data.Span[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw Refuse("it is not a valid ONNX file");
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(data.Length - _position))
            {
                throw Refuse("it is not a valid ONNX file (truncated)");
            }

            var slice = data.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public string String() => System.Text.Encoding.UTF8.GetString(Bytes().Span);

        public void Skip(WireType wire)
        {
            switch (wire)
            {
                case WireType.Varint:
                    Varint();
                    break;
                case WireType.Fixed64:
                    Advance(8);
                    break;
                case WireType.Fixed32:
                    Advance(4);
                    break;
                default:
                    Bytes();
                    break;
            }
        }

        private void Advance(int count)
        {
            if (_position + count > data.Length)
            {
                throw Refuse("it is not a valid ONNX file (truncated)");
            }

            _position += count;
        }
    }
}
