namespace XlmEdge.Tokenization;

/// <summary>
/// Byte-pair encoding of one word exactly as HF <c>XLMTokenizer.bpe</c>: the word's code
/// points are the initial symbols, <c>&lt;/w&gt;</c> is appended to the last one, and the
/// adjacent pair with the lowest rank (line number in merges.txt) is merged everywhere, left to
/// right, until no adjacent pair has a rank.
/// </summary>
/// <remarks>
/// HF rescans the whole word after each merge, which is quadratic in the word length. This
/// keeps the symbols in a linked list and the candidate pairs in a priority queue ordered by
/// (rank, position): all queued occurrences of the lowest rank are applied as one left-to-right
/// round before any pair they create is queued, which is HF's order. (A merge of x y can never
/// create another x y, so one round finds every occurrence.) Cost: O(n log n) for n code points.
/// Instances are immutable after construction and safe to share between threads.
/// </remarks>
internal sealed class BytePairEncoder
{
    public const string EndOfWord = "</w>";

    private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
#if NET9_0_OR_GREATER
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _symbolLookup;
#else
    private readonly SpanKeyedLookup<int> _symbolLookup;
#endif
    private readonly List<string> _symbols = [];
    private readonly Dictionary<long, Merge> _merges = [];

    private readonly record struct Merge(int Rank, int Result);

    /// <param name="merges">Merge rules in rank order, "first second" (further fields ignored, as HF does).</param>
    public BytePairEncoder(IReadOnlyList<string> merges)
    {
        ArgumentNullException.ThrowIfNull(merges);
#if NET9_0_OR_GREATER
        _symbolLookup = _symbolIds.GetAlternateLookup<ReadOnlySpan<char>>();
#else
        _symbolLookup = new(_symbolIds);
#endif
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var fields = PythonText.SplitWhitespace(merges[rank] ?? "");
            if (fields.Count < 2)
                continue; // HF keeps such a line as a 0- or 1-tuple that no pair ever equals
            int first = Intern(fields[0]);
            int second = Intern(fields[1]);
            int result = Intern(fields[0] + fields[1]);
            _merges[Key(first, second)] = new Merge(rank, result); // a repeated pair keeps its last rank, like dict(zip(...))
        }
    }

    /// <summary>Number of distinct merge rules.</summary>
    public int MergeCount => _merges.Count;

    private int Intern(string symbol)
    {
        if (!_symbolIds.TryGetValue(symbol, out int id))
        {
            id = _symbols.Count;
            _symbols.Add(symbol);
            _symbolIds.Add(symbol, id);
        }
        return id;
    }

    private static long Key(int first, int second) => ((long)first << 32) | (uint)second;

    private bool TryGetMerge(int first, int second, out Merge merge)
    {
        if (first < 0 || second < 0)
        {
            merge = default;
            return false;
        }
        return _merges.TryGetValue(Key(first, second), out merge);
    }

    /// <summary>Splits a non-empty word into its BPE symbols (the last one ends with <c>&lt;/w&gt;</c>).</summary>
    public string[] Encode(string word)
    {
        ArgumentException.ThrowIfNullOrEmpty(word);

        // Initial symbols: one per code point; a symbol absent from every merge gets id -1 and keeps its text.
        var starts = new List<int>(word.Length);
        for (int i = 0; i < word.Length;)
        {
            starts.Add(i);
            PythonText.CodePointAt(word, i, out int len);
            i += len;
        }
        int n = starts.Count;
        var symbol = new int[n];
        var text = new string?[n];
        var lastBuffer = new char[2 + EndOfWord.Length];
        for (int k = 0; k < n; k++)
        {
            int start = starts[k];
            int len = (k + 1 < n ? starts[k + 1] : word.Length) - start;
            ReadOnlySpan<char> span = word.AsSpan(start, len);
            if (k == n - 1)
            {
                span.CopyTo(lastBuffer);
                EndOfWord.AsSpan().CopyTo(lastBuffer.AsSpan(len));
                span = lastBuffer.AsSpan(0, len + EndOfWord.Length);
            }
            if (_symbolLookup.TryGetValue(span, out int id))
            {
                symbol[k] = id;
            }
            else
            {
                symbol[k] = -1;
                text[k] = span.ToString();
            }
        }
        if (n == 1)
            return [SymbolText(symbol, text, 0)];

        var next = new int[n];
        var prev = new int[n];
        for (int k = 0; k < n; k++)
        {
            next[k] = k + 1 < n ? k + 1 : -1;
            prev[k] = k - 1;
        }

        var queue = new PriorityQueue<int, long>();
        for (int k = 0; k + 1 < n; k++)
            Enqueue(queue, symbol, k, k + 1);

        var merged = new List<int>();
        while (queue.TryDequeue(out int position, out long priority))
        {
            int rank = (int)(priority >> 32);
            merged.Clear();
            ApplyIfValid(position, rank);
            while (queue.TryPeek(out position, out priority) && (int)(priority >> 32) == rank)
            {
                queue.Dequeue();
                ApplyIfValid(position, rank);
            }
            foreach (int k in merged)
            {
                // A merged symbol is never absorbed in its own round (x y cannot form again).
                if (prev[k] >= 0)
                    Enqueue(queue, symbol, prev[k], k);
                if (next[k] >= 0)
                    Enqueue(queue, symbol, k, next[k]);
            }
        }

        var result = new List<string>();
        for (int k = 0; k >= 0; k = next[k])
            result.Add(SymbolText(symbol, text, k));
        return [.. result];

        void ApplyIfValid(int k, int rank)
        {
            if (next[k] < 0) // removed (int.MinValue) or last symbol (-1)
                return;
            int right = next[k];
            if (!TryGetMerge(symbol[k], symbol[right], out var merge) || merge.Rank != rank)
                return;
            symbol[k] = merge.Result;
            next[k] = next[right];
            if (next[right] >= 0)
                prev[next[right]] = k;
            next[right] = int.MinValue;
            merged.Add(k);
        }
    }

    private void Enqueue(PriorityQueue<int, long> queue, int[] symbol, int left, int right)
    {
        if (TryGetMerge(symbol[left], symbol[right], out var merge))
            queue.Enqueue(left, ((long)merge.Rank << 32) | (uint)left);
    }

    private string SymbolText(int[] symbol, string?[] text, int k) => symbol[k] >= 0 ? _symbols[symbol[k]] : text[k]!;
}
