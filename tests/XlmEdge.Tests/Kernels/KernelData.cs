using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

/// <summary>Random inputs and the width matrix every kernel test runs over.</summary>
internal static class KernelData
{
    /// <summary>Unit roundoff of fp32 (2^-24).</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>Every SIMD width (all run on any machine; non-accelerated ones in software).</summary>
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (var path in CpuFeatures.AllPaths)
            data.Add(path.ToString());
        return data;
    }

    public static float[] Floats(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    public static Half[] Halves(Random random, int count, float scale = 1f)
    {
        var values = new Half[count];
        for (int i = 0; i < count; i++)
            values[i] = (Half)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    /// <summary>Exact GELU in double: 0.5·x·erfc(-x/√2).</summary>
    public static double Gelu(double x) => 0.5 * x * Erfc(-x / Math.Sqrt(2));

    /// <summary>
    /// erfc in double precision (.NET has no erf): the Maclaurin series of erf for |z| &lt; 2 (terms stay
    /// below ~3, so no cancellation beyond ~1e-15) and a Lentz continued fraction for |z| ≥ 2.
    /// </summary>
    public static double Erfc(double z)
    {
        if (z < 0)
            return 2 - Erfc(-z);
        if (z < 2)
        {
            double sum = 0, term = z;
            for (int n = 0; n < 100; n++)
            {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                    break;
                term *= -z * z / (n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(z) = exp(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...)))))
        const double tiny = 1e-300;
        double f = z, c = z, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double a = n / 2.0;
            d = z + a * d;
            if (d == 0) d = tiny;
            c = z + a / c;
            if (c == 0) c = tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
                break;
        }
        return Math.Exp(-z * z) / Math.Sqrt(Math.PI) / f;
    }
}
