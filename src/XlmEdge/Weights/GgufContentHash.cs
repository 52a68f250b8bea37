using System.IO.Hashing;
using System.Text;

namespace XlmEdge.Weights;

/// <summary>
/// The content hash stored under <see cref="GgufFormat.KeyContentHash"/>: XxHash3 over the whole
/// file with the 16 hex digits of the hash itself read as ASCII '0'. Hashing the whole file, rather
/// than only the tensor data, means a flipped bit anywhere (metadata, tokenizer, tensors) is caught.
/// </summary>
internal static class GgufContentHash
{
    public const string Prefix = "xxh3-64:";
    public const int DigitCount = 16;
    public static readonly string Placeholder = Prefix + new string('0', DigitCount);

    private static ReadOnlySpan<byte> ZeroDigits => "0000000000000000"u8;

    public static string Format(ulong hash) => Prefix + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Hashes a mapped file; <paramref name="digitsOffset"/> is the file offset of the first hex digit.</summary>
    public static unsafe ulong Compute(byte* data, long length, long digitsOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digitsOffset);
        if (digitsOffset + DigitCount > length)
            throw new ArgumentOutOfRangeException(nameof(digitsOffset));
        var hasher = new XxHash3();
        AppendChunked(hasher, data, digitsOffset);
        hasher.Append(ZeroDigits);
        long tail = digitsOffset + DigitCount;
        AppendChunked(hasher, data + tail, length - tail);
        return hasher.GetCurrentHashAsUInt64();
    }

    /// <summary>Hashes a file being written; the stream must be readable and seekable.</summary>
    public static ulong Compute(Stream stream, long digitsOffset)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var hasher = new XxHash3();
        var buffer = new byte[1 << 20];
        stream.Position = 0;
        long position = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var chunk = buffer.AsSpan(0, read);
            long overlapStart = Math.Max(position, digitsOffset);
            long overlapEnd = Math.Min(position + read, digitsOffset + DigitCount);
            for (long i = overlapStart; i < overlapEnd; i++)
                chunk[(int)(i - position)] = (byte)'0';
            hasher.Append(chunk);
            position += read;
        }
        return hasher.GetCurrentHashAsUInt64();
    }

    private static unsafe void AppendChunked(XxHash3 hasher, byte* data, long length)
    {
        const int Chunk = 1 << 30;
        while (length > 0)
        {
            int n = (int)Math.Min(length, Chunk);
            hasher.Append(new ReadOnlySpan<byte>(data, n));
            data += n;
            length -= n;
        }
    }

    internal static bool IsWellFormed(string value) =>
        value.Length == Prefix.Length + DigitCount && value.StartsWith(Prefix, StringComparison.Ordinal)
        && Encoding.ASCII.GetByteCount(value) == value.Length;
}
