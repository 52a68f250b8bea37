namespace XlmEdge.Tokenization;

/// <summary>
/// A set of Unicode code points (a bitmap for the Basic Multilingual Plane, a hash set above
/// it), so that character classes holding supplementary characters are tested whole, never
/// as UTF-16 halves.
/// </summary>
internal sealed class CodePointSet
{
    private readonly ulong[] _bmp = new ulong[0x10000 / 64];
    private readonly HashSet<int> _supplementary = [];

    public bool Contains(int codePoint) =>
        (uint)codePoint < 0x10000 ? ((_bmp[codePoint >> 6] >> (codePoint & 63)) & 1) != 0 : _supplementary.Contains(codePoint);

    public void Add(int codePoint)
    {
        if (codePoint < 0x10000)
            _bmp[codePoint >> 6] |= 1UL << (codePoint & 63);
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
}
