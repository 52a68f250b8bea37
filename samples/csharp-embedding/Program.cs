using XlmEdge;

// usage: dotnet run --project samples/csharp-embedding -- MODEL.gguf
// Loads the model once and serves fill-mask requests from several threads, as a game's
// dialogue system or an app's autocomplete would.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: XlmEdge.Samples.Embedding MODEL.gguf");
    return 2;
}

try
{
    using var model = XlmModel.Load(args[0], new XlmModelOptions { Threads = 2 });
    string[] prompts = ["the <special1> is red .", "i like <special1> .", "the cat <special1> on the mat ."];
    var tasks = prompts.Select(p => Task.Run(() => (p, model.FillMask(p, "en", topK: 3)))).ToArray();
    foreach (var (prompt, result) in await Task.WhenAll(tasks))
        Console.WriteLine($"{prompt} -> {string.Join(", ", result.Masks[0].Candidates.Select(c => $"{c.Token} ({c.Probability:0.000})"))}");
    return 0;
}
catch (XlmEdgeException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
