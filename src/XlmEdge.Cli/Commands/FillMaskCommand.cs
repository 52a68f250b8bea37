using System.CommandLine;
using System.Globalization;
using XlmEdge.CommandLine;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge fill-mask</c>: the main job.</summary>
internal static class FillMaskCommand
{
    public static Command Create(ConsoleStreams io)
    {
        var options = new ModelOptions();
        var topK = ConsoleHost.PositiveInt("--top-k", "-k", "K",
            "candidates per mask; more than the vocabulary (or the targets) gives all of them", 5);
        var targets = new Option<string[]>("--targets")
        {
            Description = "score only these words at each mask (comma-separated or repeated; each word's first BPE unit, as Hugging Face's pipeline)",
            HelpName = "WORDS",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("fill-mask", """
            Predict the token behind each mask (<special1>) of TEXT. Without TEXT: stdin lines
            {"text": ..., "lang": ..., "targets": [...]} or {"input_ids": [...], "lang": ...}, each answered
            with {"tokens","input_ids","masks":[{"position","candidates":[{"score","token","token_str",
            "sequence","logit"}]}]} (the names of Hugging Face's pipeline) or {"error": "line N: ..."}.
            """);
        options.AddTo(command);
        command.Options.Add(topK);
        command.Options.Add(targets);
        command.Options.Add(options.Threads);
        command.Options.Add(options.LockInMemory);
        options.AddBackendTo(command);
        command.SetAction(parsed =>
        {
            using var model = options.LoadModel(parsed, io.Error);
            string language = parsed.GetValue(options.Language)!;
            int k = parsed.GetValue(topK);
            string[]? words = Words(parsed.GetValue(targets));
            if (parsed.GetValue(options.Text) is { } text)
            {
                WriteHuman(model.FillMask([new FillMaskInput(text, language) { Targets = words }], k)[0], io.Out);
                return 0;
            }
            return JsonLines.Process(io.In, io.Out, language, allowIds: true, (request, w) =>
            {
                var wanted = request.Targets ?? words;
                FillMaskResult result;
                if (request.Text is not null)
                    result = model.FillMask([new FillMaskInput(request.Text, request.Language) { Targets = wanted }], k)[0];
                else if (wanted is null)
                    result = model.FillMaskIds(request.InputIds!, model.Tokenizer.LanguageIdOf(request.Language), k);
                else
                    throw new FormatException("\"targets\" need a \"text\", not \"input_ids\"");
                result.WriteTo(w);
            });
        });
        return command;
    }

    private static string[]? Words(string[]? values) =>
        values is null || values.Length == 0 ? null
            : [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static void WriteHuman(FillMaskResult result, TextWriter stdout)
    {
        foreach (var mask in result.Masks)
        {
            stdout.WriteLine($"mask at position {mask.Position}:");
            int rank = 1;
            foreach (var c in mask.Candidates)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {rank++,2}. {c.TokenString,-16} score={c.Probability:0.0000}  logit={c.Logit,8:0.000}  {c.Sequence}"));
            }
        }
    }
}
