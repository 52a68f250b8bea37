using System.Globalization;
using XlmEdge.Model;

namespace XlmEdge.Cli.Commands;

/// <summary><c>xlmedge fill-mask</c>: the main job.</summary>
internal static class FillMaskCommand
{
    public static int Run(CliArguments args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        using var model = ModelLocator.Load(args, stderr);
        if (args.Text is not null)
        {
            WriteHuman(model.FillMask(args.Text, args.Language, args.TopK), stdout);
            return 0;
        }
        return JsonLines.Process(stdin, stdout, args.Language, allowIds: true, (request, w) =>
        {
            var result = request.Text is not null
                ? model.FillMask(request.Text, request.Language, args.TopK)
                : model.FillMaskIds(request.InputIds, model.Tokenizer.LanguageIdOf(request.Language), args.TopK);
            FillMaskJson.Write(w, result);
        });
    }

    private static void WriteHuman(FillMaskResult result, TextWriter stdout)
    {
        stdout.WriteLine($"tokens: {string.Join(' ', result.Tokens)}");
        foreach (var mask in result.Masks)
        {
            stdout.WriteLine($"mask at position {mask.Position}:");
            int rank = 1;
            foreach (var c in mask.Candidates)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {rank++,2}. {c.Token,-16} p={c.Probability:0.0000}  logit={c.Logit,8:0.000}  {c.Sequence}"));
            }
        }
    }
}
