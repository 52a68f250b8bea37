namespace XlmEdge.Kernels;

/// <summary>The k largest values of a vector without sorting all of it.</summary>
internal static class TopK
{
    /// <summary>
    /// Fills <paramref name="indices"/> (k = its length, at most values.Length) with the indices of the
    /// k largest values, largest first; equal values keep the lower index first. NaN ranks below every
    /// number. O(n log k): a min-heap of the best k seen so far, rooted at the current k-th best.
    /// </summary>
    public static void Select(ReadOnlySpan<float> values, Span<int> indices)
    {
        int k = indices.Length;
        if (k > values.Length)
            throw new ArgumentException($"Cannot select {k} of {values.Length} values.", nameof(indices));
        if (k == 0)
            return;
        for (int i = 0; i < k; i++)
        {
            indices[i] = i;
            SiftUp(values, indices, i);
        }
        for (int i = k; i < values.Length; i++)
        {
            if (Better(values, i, indices[0]))
            {
                indices[0] = i;
                SiftDown(values, indices, 0, k);
            }
        }
        // Heap-sort in place: repeatedly move the worst remaining to the end.
        for (int end = k - 1; end > 0; end--)
        {
            (indices[0], indices[end]) = (indices[end], indices[0]);
            SiftDown(values, indices, 0, end);
        }
    }

    /// <summary>Whether value a outranks value b: larger first, then lower index; NaN last.</summary>
    private static bool Better(ReadOnlySpan<float> values, int a, int b)
    {
        float va = values[a], vb = values[b];
        if (va > vb)
            return true;
        if (va < vb)
            return false;
        bool nanA = float.IsNaN(va), nanB = float.IsNaN(vb);
        if (nanA != nanB)
            return nanB;
        return a < b;
    }

    private static void SiftUp(ReadOnlySpan<float> values, Span<int> heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Better(values, heap[parent], heap[i]))
                break;
            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(ReadOnlySpan<float> values, Span<int> heap, int i, int size)
    {
        while (true)
        {
            int worst = i, left = 2 * i + 1, right = left + 1;
            if (left < size && Better(values, heap[worst], heap[left]))
                worst = left;
            if (right < size && Better(values, heap[worst], heap[right]))
                worst = right;
            if (worst == i)
                return;
            (heap[worst], heap[i]) = (heap[i], heap[worst]);
            i = worst;
        }
    }
}
