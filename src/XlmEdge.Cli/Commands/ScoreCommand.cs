using System.CommandLine;
using System.Globalization;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge score</c>: how likely a causal model (xlm-clm-*) finds a text.</summary>
internal static class ScoreCommand
{
    public static Command Create(ConsoleStreams io)
    {
        var options = new ModelOptions(causal: true);
        var command = new Command("score", """
            The log-likelihood and perplexity of TEXT under a causal language model (xlm-clm-*): every
            token after <s>, </s> included, predicted from the ones before it (natural logs). Without
            TEXT: stdin lines {"text": ..., "lang": ...} or {"input_ids": [...], "lang": ...} (the whole
            model input, at least two ids), each answered with {"tokens","input_ids","token_log_probs",
            "log_likelihood","perplexity"} or {"error": "line N: ..."}.
            """);
        options.AddTo(command);
        command.Options.Add(options.Threads);
        command.Options.Add(options.LockInMemory);
        command.SetAction(parsed =>
        {
            using var model = options.LoadModel(parsed, io.Error);
            string language = parsed.GetValue(options.Language)!;
            if (parsed.GetValue(options.Text) is { } text)
            {
                WriteHuman(model, model.Score(text, language), io.Out);
                return 0;
            }
            return JsonLines.Process(io.In, io.Out, language, allowIds: true, (request, w) =>
            {
                JsonLines.RefuseTargets(request);
                var result = request.Text is not null
                    ? model.Score(request.Text, request.Language)
                    : model.ScoreIds(request.InputIds!, model.Tokenizer.LanguageIdOf(request.Language));
                result.WriteTo(w);
            });
        });
        return command;
    }

    private static void WriteHuman(XlmModel model, ScoreResult result, TextWriter stdout)
    {
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(ci,
            $"log-likelihood {result.LogLikelihood:0.0000}  perplexity {result.Perplexity:0.000}  ({result.TokenLogProbabilities.Count} predicted tokens)"));
        for (int i = 0; i < result.TokenLogProbabilities.Count; i++)
            stdout.WriteLine(string.Create(ci, $"  {model.Tokenizer.TokenOf(result.InputIds[i + 1]),-20} {result.TokenLogProbabilities[i],10:0.0000}"));
    }
}
