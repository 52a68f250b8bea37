using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using XlmEdge.Tokenization;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Single-thread tokenizer throughput on the English and French corpus sentences
/// (tests/fixtures/corpus): tokens per second and MB (UTF-8 input) per second.
/// </summary>
/// <remarks>
/// The corpus is small, so each run encodes it several times, sentence by sentence, as a
/// caller would. The first pass over each language is reported separately: it pays one-time
/// costs (an empty BPE word cache, and for the first language also JIT compilation). After a
/// warm-up, the median of several runs is reported for <c>Encode</c> (tokens and ids)
/// and for the model's id-only path <c>EncodeIds</c>. Rates are given against wall-clock time
/// and, on Linux, against the CPU time of the measuring thread, which stays meaningful on a
/// machine busy with other work.
/// </remarks>
internal static class TokenizerThroughput
{
    private const int Repeats = 20;
    private const int Runs = 7;
    private const int WarmUpRuns = 3;

    public static void Run(XlmTokenizer tokenizer, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(output);
        var corpus = FindCorpus();
        output.WriteLine("tokenizer throughput, one thread (corpus: " + corpus + ")");
        foreach (var language in new[] { "en", "fr" })
        {
            var sentences = File.ReadAllLines(Path.Combine(corpus, language + ".txt")).Where(l => l.Length > 0).ToArray();
            long bytes = sentences.Sum(s => (long)Encoding.UTF8.GetByteCount(s));
            int languageId = tokenizer.LanguageIdOf(language);

            long tokens = 0;
            var (coldWall, coldCpu) = Time(() => tokens = EncodeAll(tokenizer, sentences, language));
            Report(output, language, "first pass (one-time costs)", tokens, bytes, coldWall, coldCpu);

            Measure(output, language, "Encode", tokens * Repeats, bytes * Repeats, () =>
            {
                for (int r = 0; r < Repeats; r++)
                    EncodeAll(tokenizer, sentences, language);
            });
            var ids = new List<int>(1024);
            Measure(output, language, "EncodeIds", tokens * Repeats, bytes * Repeats, () =>
            {
                for (int r = 0; r < Repeats; r++)
                {
                    foreach (var sentence in sentences)
                    {
                        ids.Clear();
                        tokenizer.EncodeIds(sentence, languageId, ids);
                    }
                }
            });
        }
    }

    private static long EncodeAll(XlmTokenizer tokenizer, string[] sentences, string language)
    {
        long tokens = 0;
        foreach (var sentence in sentences)
            tokens += tokenizer.Encode(sentence, language).Tokens.Count;
        return tokens;
    }

    private static void Measure(TextWriter output, string language, string what, long tokens, long bytes, Action run)
    {
        for (int i = 0; i < WarmUpRuns; i++)
            run(); // lets tiered JIT finish before timing
        var wall = new double[Runs];
        var cpu = new double[Runs];
        for (int i = 0; i < Runs; i++)
            (wall[i], cpu[i]) = Time(run);
        Array.Sort(wall);
        Array.Sort(cpu);
        Report(output, language, what + $" (median of {Runs} runs)", tokens, bytes, wall[Runs / 2], cpu[Runs / 2]);
    }

    private static (double Wall, double Cpu) Time(Action run)
    {
        double cpu0 = ThreadCpuSeconds();
        var watch = Stopwatch.StartNew();
        run();
        double wall = watch.Elapsed.TotalSeconds;
        return (wall, ThreadCpuSeconds() - cpu0);
    }

    private static void Report(TextWriter output, string language, string what, long tokens, long bytes, double wall, double cpu)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"  {language} {what}: wall {tokens / wall:N0} tokens/s, {bytes / wall / 1e6:F2} MB/s");
        if (!double.IsNaN(cpu))
            line += string.Create(CultureInfo.InvariantCulture, $"; thread CPU {tokens / cpu:N0} tokens/s, {bytes / cpu / 1e6:F2} MB/s");
        output.WriteLine(line + string.Create(CultureInfo.InvariantCulture, $" ({bytes:N0} bytes, {tokens:N0} tokens)"));
    }

    // CPU time of the calling thread (Linux clock_gettime(CLOCK_THREAD_CPUTIME_ID)); NaN elsewhere.
    private static double ThreadCpuSeconds()
    {
        if (!OperatingSystem.IsLinux())
            return double.NaN;
        return clock_gettime(ClockThreadCpuTime, out var ts) == 0 ? ts.Seconds + ts.Nanoseconds * 1e-9 : double.NaN;
    }

    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", SetLastError = false)]
    private static extern int clock_gettime(int clockId, out TimeSpec time);

    private static string FindCorpus()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "corpus");
            if (File.Exists(Path.Combine(candidate, "en.txt")))
                return candidate;
        }
        var fromCwd = Path.Combine(Directory.GetCurrentDirectory(), "tests", "fixtures", "corpus");
        if (File.Exists(Path.Combine(fromCwd, "en.txt")))
            return fromCwd;
        throw new DirectoryNotFoundException("tests/fixtures/corpus not found above " + AppContext.BaseDirectory);
    }
}
