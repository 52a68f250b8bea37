using System.Diagnostics;
using XlmEdge;

// usage: Consumer MODEL.gguf [CALLS]   (with CALLS: also times that many fill-mask calls after a warm-up)
using var model = XlmModel.Load(args[0]);
const string Text = "the capital of france is <special1> .";
var result = model.FillMask(Text, "en", topK: 3);
Console.WriteLine($"XlmEdge {XlmRuntime.Version} on .NET {Environment.Version}, kernels {XlmRuntime.SimdPath}");
foreach (var c in result.Masks[0].Candidates)
    Console.WriteLine($"{c.TokenString,-12} {c.Probability:0.0000}  {c.Sequence}");
Console.WriteLine(result.ToJson());
if (args.Length > 1)
{
    int calls = int.Parse(args[1]);
    for (int i = 0; i < 5; i++)
        model.FillMask(Text, "en");
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < calls; i++)
        model.FillMask(Text, "en");
    Console.WriteLine($"{clock.Elapsed.TotalMilliseconds / calls:0.000} ms per fill-mask call ({calls} calls)");
}
return result.Masks[0].Candidates.Count == 3 ? 0 : 1;
