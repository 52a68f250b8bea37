using XlmEdge.Model;
using XlmEdge.Tokenization;
using XlmEdge.Weights;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge tokenize</c>: the model's tokenizer, without loading the network.</summary>
internal static class TokenizeCommand
{
    public static int Run(CliArguments args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        XlmTokenizer tokenizer;
        using (var file = GgufFile.Open(ModelLocator.Resolve(args, stderr)))
            tokenizer = ModelMetadata.Read(file).Validate().Tokenizer;

        if (args.Text is not null)
        {
            var t = tokenizer.Encode(args.Text, args.Language);
            stdout.WriteLine(string.Join(' ', t.Tokens));
            stdout.WriteLine(string.Join(' ', t.Ids));
            return 0;
        }
        return JsonLines.Process(stdin, stdout, args.Language, allowIds: false, (request, w) =>
        {
            var t = tokenizer.Encode(request.Text!, request.Language);
            w.WriteStartObject();
            JsonLines.WriteStrings(w, "tokens", t.Tokens);
            JsonLines.WriteInts(w, "ids", t.Ids);
            w.WriteEndObject();
        });
    }
}
