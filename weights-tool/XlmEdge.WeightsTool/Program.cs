using System.CommandLine;
using XlmEdge.CommandLine;
using XlmEdge.WeightsTool.Commands;

namespace XlmEdge.WeightsTool;

/// <summary>
/// xlmedge-weights: Hugging Face XLM checkpoint folder -> one GGUF file, and checks of such a
/// file. Exit codes: 0 success, 1 bad input (one "error: " line on stderr), 2 usage error.
/// </summary>
internal static class Program
{
    private static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The whole tool, with its output streams passed in (tests call this in-process).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        ConsoleHost.Run("xlmedge-weights", "xlmedge-weights: Hugging Face XLM checkpoint folder -> one GGUF file for XlmEdge, and checks of such files.",
            [Pack(stdout, stderr), Inspect(stdout), Verify(stdout)], args, stdout, stderr);

    private static Command Pack(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Argument<string>("HF_DIR") { Description = "the Hugging Face checkpoint folder" };
        var output = new Option<string>("--output", "-o") { Description = "the .gguf file to write", HelpName = "OUT.gguf", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "how matrices are stored: f16 or f32", HelpName = "f16|f32", DefaultValueFactory = _ => "f16" };
        dtype.AcceptOnlyFromAmong("f16", "f32");
        var causal = new Option<bool>("--causal") { Description = "pack a causal language model (xlm-clm-*) whatever config.json says" };
        var name = new Option<string>("--name") { Description = "general.name (default: config.json's _name_or_path)", HelpName = "NAME" };
        var license = new Option<string>("--license") { Description = "general.license (default: README.md's license:)", HelpName = "ID" };
        var command = new Command("pack", """
            Reads config.json, vocab.json, merges.txt, tokenizer_config.json (optional) and one weight
            file: model.safetensors, else pytorch_model.bin (zip or legacy torch.save format), else
            pytorch_model_legacy.bin. Matrices are stored as F16 (--dtype f16, the default) or F32; 1-D
            tensors always as F32. A NaN or infinity in the weights, or a value too large for fp16, is an
            error naming the tensor and element. Pickles may only name torch tensor/storage globals and
            collections.OrderedDict; anything else is refused. A checkpoint the runtime cannot run is
            refused with the reason. The output is written to a temporary file in the same folder and
            renamed when complete; it may not be a device or one of the checkpoint's files. --causal packs
            a causal language model (xlm-clm-*) whatever config.json says: the original XLM checkpoints
            chose the attention mask per call, so their config may not say it. --name sets general.name (a
            Hugging Face id owner/name or a URL also sets the source; default: config.json's
            _name_or_path), --license general.license (default: README.md's license:).
            """) { checkpoint, output, dtype, causal, name, license };
        command.SetAction(parsed =>
        {
            var matrixType = parsed.GetValue(dtype) == "f16" ? Weights.GgufTensorType.F16 : Weights.GgufTensorType.F32;
            bool terminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
            return PackCommand.Run(new PackOptions(parsed.GetValue(checkpoint)!, parsed.GetValue(output)!, matrixType,
                parsed.GetValue(name), parsed.GetValue(license), terminal, parsed.GetValue(causal)), stdout, stderr);
        });
        return command;
    }

    private static Command Inspect(TextWriter stdout)
    {
        var file = new Argument<string>("FILE.gguf") { Description = "the model file" };
        var json = new Option<bool>("--json") { Description = "machine-readable output" };
        var command = new Command("inspect", "Prints the metadata and the tensor table.") { file, json };
        command.SetAction(parsed => InspectCommand.Run(parsed.GetValue(file)!, parsed.GetValue(json), stdout));
        return command;
    }

    private static Command Verify(TextWriter stdout)
    {
        var file = new Argument<string>("FILE.gguf") { Description = "the model file" };
        var command = new Command("verify", """
            Checks the structure, the content hash and that every tensor of the model's geometry is
            present with its shape; prints "ok: ..." or fails.
            """) { file };
        command.SetAction(parsed => VerifyCommand.Run(parsed.GetValue(file)!, stdout));
        return command;
    }
}
