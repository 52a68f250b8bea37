using XlmEdge.WeightsTool.Commands;

namespace XlmEdge.WeightsTool;

/// <summary>
/// xlmedge-weights: Hugging Face XLM checkpoint folder -> one GGUF file, and checks of such a
/// file. Exit codes: 0 success, 1 bad input (one "error: " line on stderr), 2 usage error.
/// </summary>
internal static class Program
{
    internal const string Usage = """
        usage:
          xlmedge-weights pack HF_DIR -o OUT.gguf [--dtype f16|f32] [--causal] [--name NAME] [--license ID]
          xlmedge-weights inspect FILE.gguf [--json]
          xlmedge-weights verify FILE.gguf

        pack     reads config.json, vocab.json, merges.txt, tokenizer_config.json (optional) and
                 one weight file: model.safetensors, else pytorch_model.bin (zip or legacy
                 torch.save format), else pytorch_model_legacy.bin. Matrices are stored as F16
                 (--dtype f16, the default) or F32; 1-D tensors always as F32. A NaN or
                 infinity in the weights, or a value too large for fp16, is an error naming the
                 tensor and element. Pickles may only name torch tensor/storage globals and
                 collections.OrderedDict; anything else is refused. A checkpoint the runtime
                 cannot run is refused with the reason. The output is written to a temporary
                 file in the same folder and renamed when complete; it may not be a device or
                 one of the checkpoint's files. --causal packs a causal language model
                 (xlm-clm-*) whatever config.json says: the original XLM checkpoints chose the
                 attention mask per call, so their config may not say it. --name sets
                 general.name (a Hugging Face id owner/name or a URL also sets the source;
                 default: config.json's _name_or_path), --license general.license (default:
                 README.md's license:).
        inspect  prints the metadata and the tensor table (--json: machine-readable).
        verify   checks the structure, the content hash and that every tensor of the model's
                 geometry is present with its shape; prints "ok: ..." or fails.

        exit codes: 0 success, 1 bad input, 2 usage error
        """;

    private static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The whole tool, with its output streams passed in (tests call this in-process).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return Dispatch(args, stdout, stderr);
        }
        catch (UsageException e)
        {
            stderr.WriteLine("error: " + OneLine(e.Message));
            stderr.Write(Usage);
            return 2;
        }
        catch (Exception e) when (e is XlmEdgeException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + OneLine(e.Message));
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return 1;
        }
    }

    private static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
            throw new UsageException("no command given");
        if (args[0] is "-h" or "--help" or "help")
        {
            stdout.Write(Usage);
            return 0;
        }
        var rest = args[1..];
        switch (args[0])
        {
            case "pack":
                {
                    string? output = null, dtype = null, name = null, license = null;
                    bool causal = false;
                    var positional = new List<string>();
                    for (int i = 0; i < rest.Length; i++)
                    {
                        switch (rest[i])
                        {
                            case "-o" or "--output":
                                output = Value(rest, ref i, output);
                                break;
                            case "--dtype":
                                dtype = Value(rest, ref i, dtype);
                                break;
                            case "--causal":
                                causal = true;
                                break;
                            case "--name":
                                name = Value(rest, ref i, name);
                                break;
                            case "--license":
                                license = Value(rest, ref i, license);
                                break;
                            default:
                                positional.Add(Positional(rest[i]));
                                break;
                        }
                    }
                    if (positional.Count != 1)
                        throw new UsageException("pack takes exactly one checkpoint folder");
                    if (output is null)
                        throw new UsageException("pack needs -o OUT.gguf");
                    var matrixType = (dtype ?? "f16") switch
                    {
                        "f16" => Weights.GgufTensorType.F16,
                        "f32" => Weights.GgufTensorType.F32,
                        _ => throw new UsageException($"--dtype must be f16 or f32, not '{dtype}'"),
                    };
                    bool terminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
                    return PackCommand.Run(new PackOptions(positional[0], output, matrixType, name, license, terminal, causal), stdout, stderr);
                }
            case "inspect":
                {
                    bool json = false;
                    var positional = new List<string>();
                    foreach (var arg in rest)
                    {
                        if (arg == "--json")
                            json = true;
                        else
                            positional.Add(Positional(arg));
                    }
                    if (positional.Count != 1)
                        throw new UsageException("inspect takes exactly one .gguf file");
                    return InspectCommand.Run(positional[0], json, stdout);
                }
            case "verify":
                {
                    var positional = rest.Select(Positional).ToList();
                    if (positional.Count != 1)
                        throw new UsageException("verify takes exactly one .gguf file");
                    return VerifyCommand.Run(positional[0], stdout);
                }
            default:
                throw new UsageException($"unknown command '{args[0]}'");
        }
    }

    private static string Value(string[] args, ref int i, string? previous)
    {
        if (previous is not null)
            throw new UsageException($"{args[i]} given twice");
        if (i + 1 >= args.Length)
            throw new UsageException($"{args[i]} needs a value");
        return args[++i];
    }

    private static string Positional(string arg) =>
        arg.StartsWith('-') && arg.Length > 1 ? throw new UsageException($"unknown option '{arg}'") : arg;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private sealed class UsageException(string message) : Exception(message);
}
