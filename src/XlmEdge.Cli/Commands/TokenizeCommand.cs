using System.CommandLine;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge tokenize</c>: the model's tokenizer, without loading the network.</summary>
internal static class TokenizeCommand
{
    public static Command Create(ConsoleStreams io)
    {
        var options = new ModelOptions();
        var command = new Command("tokenize", """
            Tokenize TEXT as the model does (Moses rules of LANG, BPE). Prints the BPE tokens and the
            input ids (with <s> and </s>). Without TEXT: stdin lines {"text": ..., "lang": ...}, each
            answered with {"tokens": [...], "ids": [...]} or {"error": "line N: ..."}.
            """);
        options.AddTo(command);
        command.SetAction(parsed =>
        {
            var tokenizer = options.LoadTokenizer(parsed, io.Error);
            string language = parsed.GetValue(options.Language)!;
            if (parsed.GetValue(options.Text) is { } text)
            {
                var t = tokenizer.Encode(text, language);
                io.Out.WriteLine(string.Join(' ', t.Tokens));
                io.Out.WriteLine(string.Join(' ', t.Ids));
                return 0;
            }
            return JsonLines.Process(io.In, io.Out, language, allowIds: false,
                (request, w) => tokenizer.Encode(request.Text!, request.Language).WriteTo(w));
        });
        return command;
    }
}
