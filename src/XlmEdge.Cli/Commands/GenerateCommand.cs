using System.CommandLine;
using System.Globalization;
using XlmEdge.CommandLine;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge generate</c>: continue a text with a causal model (xlm-clm-*).</summary>
internal static class GenerateCommand
{
    public static Command Create(ConsoleStreams io)
    {
        var options = new ModelOptions(causal: true);
        var maxTokens = ConsoleHost.PositiveInt("--max-tokens", "-n", "N", "most new tokens (generation also stops at </s> or a full context)", 32);
        var temperature = Number("--temperature", null, "T",
            "0 picks the most likely token (greedy); above 0 samples from softmax(logits / T)", 0f, "a number");
        var topK = Number("--top-k", "-k", "K", "sample among the K most likely tokens only (0: all)", 0, "a whole number");
        var topP = Number("--top-p", null, "P",
            "sample among the most likely tokens whose probabilities reach P (nucleus; 1: all)", 1f, "a number");
        var seed = Number("--seed", null, "SEED",
            "seed of the sampler: the same seed, model and prompt give the same tokens", 0UL, "a whole number from 0 to 2^64-1");
        var command = new Command("generate", """
            Continue TEXT with a causal language model (xlm-clm-*), one cached position per new token.
            Prints prompt and continuation (the model's lowercased, tokenized form). Without TEXT: stdin
            lines {"text": ..., "lang": ...} or {"input_ids": [...], "lang": ...} (<s> and the prompt's ids,
            no </s>), each answered with {"generated_text","text","input_ids","generated_ids",
            "generated_tokens","stop_reason"} or {"error": "line N: ..."}.
            """);
        options.AddTo(command);
        command.Options.Add(maxTokens);
        command.Options.Add(temperature);
        command.Options.Add(topK);
        command.Options.Add(topP);
        command.Options.Add(seed);
        command.Options.Add(options.Threads);
        command.Options.Add(options.LockInMemory);
        command.SetAction(parsed =>
        {
            var sampling = new SamplingOptions
            {
                Temperature = parsed.GetValue(temperature),
                TopK = parsed.GetValue(topK),
                TopP = parsed.GetValue(topP),
                Seed = parsed.GetValue(seed),
            };
            sampling.Validate();
            int n = parsed.GetValue(maxTokens);
            using var model = options.LoadModel(parsed, io.Error);
            string language = parsed.GetValue(options.Language)!;
            if (parsed.GetValue(options.Text) is { } text)
            {
                var result = model.Generate(text, language, n, sampling);
                io.Out.WriteLine(result.Sequence);
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"({result.GeneratedIds.Count} new tokens; stopped: {Describe(result.StopReason)})"));
                return 0;
            }
            return JsonLines.Process(io.In, io.Out, language, allowIds: true, (request, w) =>
            {
                JsonLines.RefuseTargets(request);
                var result = request.Text is not null
                    ? model.Generate(request.Text, request.Language, n, sampling)
                    : model.GenerateIds(request.InputIds!, model.Tokenizer.LanguageIdOf(request.Language), n, sampling);
                result.WriteTo(w);
            });
        });
        return command;
    }

    /// <summary>
    /// A number option parsed the invariant way, its error said plainly (System.CommandLine's own names
    /// the .NET type). Ranges are <see cref="SamplingOptions.Validate"/>'s to check.
    /// </summary>
    private static Option<T> Number<T>(string name, string? alias, string helpName, string description, T defaultValue, string kind)
        where T : ISpanParsable<T>
    {
        var option = alias is null ? new Option<T>(name) : new Option<T>(name, alias);
        option.Description = description;
        option.HelpName = helpName;
        option.DefaultValueFactory = _ => defaultValue;
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (T.TryParse(text, CultureInfo.InvariantCulture, out var value))
                return value;
            result.AddError($"option '{name}' needs {kind}, not '{text}'");
            return defaultValue;
        };
        return option;
    }

    private static string Describe(GenerationStopReason reason) => reason switch
    {
        GenerationStopReason.EndOfSentence => "the model wrote </s>",
        GenerationStopReason.MaxTokens => "--max-tokens reached",
        _ => "the model's context is full",
    };
}
