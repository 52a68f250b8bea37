using XlmEdge;
// Peak RSS of the benchmark's sweep (same cases: fill-mask T = 8..512, batch 8 at T = 32, encoder T = 8..512),
// public API only, so that the build before issue 11 runs the same program.
using var model = XlmModel.Load(args[0], new XlmModelOptions { Threads = 2 });
int calls = int.Parse(args[1]);
var rnd = new Random(1);
int[] Seq(int T) { var ids = new int[T]; ids[0] = 0; ids[T - 1] = 1; for (int i = 1; i < T - 1; i++) ids[i] = 10 + rnd.Next(60000); ids[T / 2] = 5; return ids; }
foreach (int T in new[] { 8, 16, 32, 64, 128, 512 })
{
    var ids = Seq(T);
    for (int i = 0; i < calls; i++) model.FillMaskIds(ids, 0);
}
var batch = Enumerable.Range(0, 8).Select(_ => Seq(32)).ToArray();
for (int i = 0; i < calls; i++) model.FillMaskIds(batch, Enumerable.Repeat(0, 8).ToArray());
foreach (int T in new[] { 8, 16, 32, 64, 128, 512 })
{
    var ids = Seq(T); var hidden = new float[T * 1024];
    for (int i = 0; i < calls; i++) model.EncodeIds(ids, 0, hidden);
}
string hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM"));
Console.WriteLine($"peak RSS {hwm.Split(':')[1].Trim()} ({args[0]})");
