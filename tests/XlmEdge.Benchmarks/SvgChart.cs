using System.Globalization;
using System.Text;

namespace XlmEdge.Benchmarks;

/// <summary>
/// Latency against sequence length on log-log axes, one line per engine and case kind (batch-1
/// cases only), plus the compute floor. Plain SVG text: no plotting library, no fonts to embed.
/// </summary>
internal static class SvgChart
{
    private const double Width = 760, Height = 480, Left = 70, Right = 250, Top = 40, Bottom = 60;

    private sealed record Series(string Label, string Color, bool Dashed, IReadOnlyList<(double X, double Y)> Points);

    public static string Render(BenchReport report)
    {
        var series = new List<Series>();
        void Add(string label, string color, bool dashed, CaseKind kind, Func<BenchCase, double?> value)
        {
            var points = report.Cases.Where(c => c.Kind == kind && c.Batch == 1)
                .Select(c => (X: (double)c.Tokens, Y: value(c)))
                .Where(p => p.Y is > 0)
                .Select(p => (p.X, p.Y!.Value)).ToList();
            if (points.Count > 0)
                series.Add(new Series(label, color, dashed, points));
        }
        Add("XlmEdge fill-mask", "#d62728", false, CaseKind.FillMask, c => report.MedianMs("xlmedge", c));
        Add("ONNX Runtime fill-mask", "#1f77b4", false, CaseKind.FillMask, c => report.MedianMs("ort", c));
        Add("PyTorch fill-mask", "#2ca02c", false, CaseKind.FillMask, c => report.MedianMs("pytorch", c));
        Add("floor fill-mask", "#7f7f7f", false, CaseKind.FillMask, c => report.FloorMs(c));
        Add("XlmEdge encoder", "#d62728", true, CaseKind.Encode, c => report.MedianMs("xlmedge", c));
        Add("ORT encoder-only export", "#1f77b4", true, CaseKind.Encode, c => report.MedianMs("ort-encoder", c));
        Add("PyTorch encoder", "#2ca02c", true, CaseKind.Encode, c => report.MedianMs("pytorch", c));

        var all = series.SelectMany(s => s.Points).ToList();
        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(Invariant($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>"));
        svg.AppendLine(Invariant($"<text x=\"{Left}\" y=\"24\" font-size=\"15\">enfr-1024 latency vs tokens ({report.Threads} threads, median, log-log)</text>"));
        if (all.Count == 0)
        {
            svg.AppendLine("</svg>");
            return svg.ToString();
        }

        var xMin = Math.Log10(all.Min(p => p.X)) - 0.05;
        var xMax = Math.Log10(all.Max(p => p.X)) + 0.05;
        var yMin = Math.Floor(Math.Log10(all.Min(p => p.Y)));
        var yMax = Math.Ceiling(Math.Log10(all.Max(p => p.Y)));
        double Px(double x) => Left + (Math.Log10(x) - xMin) / (xMax - xMin) * (Width - Left - Right);
        double Py(double y) => Height - Bottom - (Math.Log10(y) - yMin) / (yMax - yMin) * (Height - Top - Bottom);

        var plotRight = Width - Right;
        svg.AppendLine(Invariant($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotRight - Left}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"#333\"/>"));
        foreach (var x in all.Select(p => p.X).Distinct().Order())
        {
            var px = Px(x);
            svg.AppendLine(Invariant($"<line x1=\"{px:F1}\" y1=\"{Top}\" x2=\"{px:F1}\" y2=\"{Height - Bottom}\" stroke=\"#ddd\"/>"));
            svg.AppendLine(Invariant($"<text x=\"{px:F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{x}</text>"));
        }
        for (var e = yMin; e <= yMax; e++)
        {
            foreach (var m in new[] { 1.0, 2.0, 5.0 })
            {
                var y = m * Math.Pow(10, e);
                if (Math.Log10(y) > yMax)
                    break;
                var py = Py(y);
                svg.AppendLine(Invariant($"<line x1=\"{Left}\" y1=\"{py:F1}\" x2=\"{plotRight}\" y2=\"{py:F1}\" stroke=\"{(m == 1 ? "#bbb" : "#eee")}\"/>"));
                svg.AppendLine(Invariant($"<text x=\"{Left - 6}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{y:G4}</text>"));
            }
        }
        svg.AppendLine(Invariant($"<text x=\"{(Left + plotRight) / 2}\" y=\"{Height - 18}\" text-anchor=\"middle\">tokens per sequence (batch 1)</text>"));
        svg.AppendLine(Invariant($"<text transform=\"translate(18 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">latency (ms)</text>"));

        var legendY = Top + 10.0;
        foreach (var s in series)
        {
            var dash = s.Dashed ? " stroke-dasharray=\"6 4\"" : "";
            var width = s.Label.StartsWith("floor", StringComparison.Ordinal) ? 1.5 : 2.2;
            var path = string.Join(" ", s.Points.Select(p => Invariant($"{Px(p.X):F1},{Py(p.Y):F1}")));
            svg.AppendLine(Invariant($"<polyline points=\"{path}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"{width}\"{dash}/>"));
            foreach (var p in s.Points)
                svg.AppendLine(Invariant($"<circle cx=\"{Px(p.X):F1}\" cy=\"{Py(p.Y):F1}\" r=\"2.5\" fill=\"{s.Color}\"/>"));
            svg.AppendLine(Invariant($"<line x1=\"{plotRight + 15}\" y1=\"{legendY}\" x2=\"{plotRight + 45}\" y2=\"{legendY}\" stroke=\"{s.Color}\" stroke-width=\"{width}\"{dash}/>"));
            svg.AppendLine(Invariant($"<text x=\"{plotRight + 52}\" y=\"{legendY + 4}\">{s.Label}</text>"));
            legendY += 20;
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
