using System.Collections;
using System.Text;

namespace XlmEdge.Tokenization;

/// <summary>
/// A set of Unicode code points (a bitmap for the Basic Multilingual Plane, a hash set above
/// it), so that character classes holding supplementary characters are tested whole, never
/// as UTF-16 halves.
/// </summary>
internal sealed class CodePointSet
{
    private readonly BitArray _bmp = new(0x10000);
    private readonly HashSet<int> _supplementary = [];

    public bool Contains(int codePoint) =>
        codePoint < 0x10000 ? codePoint >= 0 && _bmp[codePoint] : _supplementary.Contains(codePoint);

    public void Add(int codePoint)
    {
        if (codePoint < 0x10000)
            _bmp[codePoint] = true;
        else
            _supplementary.Add(codePoint);
    }

    /// <summary>Every code point of <paramref name="text"/> becomes a member (sacremoses' perluniprops files).</summary>
    public void AddAll(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            Add(PythonText.CodePointAt(text, i, out int len));
            i += len;
        }
    }

    /// <summary>Number of members (for diagnostics and tests).</summary>
    public int Count
    {
        get
        {
            int n = _supplementary.Count;
            for (int i = 0; i < 0x10000; i++)
                if (_bmp[i])
                    n++;
            return n;
        }
    }
}
