using System.Buffers.Binary;
using System.Text;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>One entry of a zip archive: where its stored bytes lie in the file.</summary>
internal sealed record ZipEntry(string Name, ushort Method, long DataOffset, long CompressedSize, long Size);

/// <summary>
/// Reads a zip archive's central directory (with ZIP64 records, as torch writes for large files)
/// straight from the mapped file, so stored entries can be read in place. Only what torch.save
/// produces is supported: one disk, no encryption.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndOfCentralDirectory = 0x06054b50;
    private const uint Zip64EndOfCentralDirectory = 0x06064b50;
    private const uint Zip64Locator = 0x07064b50;
    private const uint CentralHeader = 0x02014b50;
    private const uint LocalHeader = 0x04034b50;
    public const ushort Stored = 0;

    public static List<ZipEntry> Read(MappedFile file)
    {
        long eocd = FindEndOfCentralDirectory(file);
        var e = file.Span(eocd, 22, "end of central directory");
        long entryCount = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        // 0xFFFF entries (or an all-ones size or offset) is either a ZIP64 marker or the true value:
        // a plain archive may hold exactly 65,535 entries. Only a ZIP64 locator makes it a marker.
        if ((entryCount == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF)
            && eocd >= 20 && BinaryPrimitives.ReadUInt32LittleEndian(file.Span(eocd - 20, 20, "ZIP64 locator")) == Zip64Locator)
        {
            var locator = file.Span(eocd - 20, 20, "ZIP64 locator");
            long z64 = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]));
            var z = file.Span(z64, 56, "ZIP64 end of central directory");
            if (BinaryPrimitives.ReadUInt32LittleEndian(z) != Zip64EndOfCentralDirectory)
                throw Bad(file, "ZIP64 end-of-central-directory record is missing");
            entryCount = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(z[32..]));
            directorySize = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(z[40..]));
            directoryOffset = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(z[48..]));
        }
        if (!file.Contains(directoryOffset, directorySize))
            throw Bad(file, $"central directory (offset {directoryOffset}, {directorySize} bytes) lies outside the file");
        // every central header is at least 46 bytes: a count beyond that is a lie, caught before allocating
        if (entryCount > directorySize / 46)
            throw Bad(file, $"central directory claims {entryCount} entries in {directorySize} bytes");

        var entries = new List<ZipEntry>((int)entryCount);
        long pos = directoryOffset;
        long end = directoryOffset + directorySize;
        for (long i = 0; i < entryCount; i++)
        {
            if (end - pos < 46)
                throw Bad(file, "central directory is truncated");
            var h = file.Span(pos, 46, "central directory header");
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CentralHeader)
                throw Bad(file, $"bad central directory header at offset {pos}");
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            long recordLength = 46L + nameLength + extraLength + commentLength;
            if (end - pos < recordLength)
                throw Bad(file, "central directory is truncated");
            string name = Encoding.UTF8.GetString(file.Span(pos + 46, nameLength, "entry name"));
            if ((flags & 1) != 0)
                throw Bad(file, $"entry '{name}' is encrypted");
            ReadZip64Extra(file, file.Span(pos + 46 + nameLength, extraLength, "entry extra field"), name,
                ref size, ref compressed, ref localOffset);
            entries.Add(new ZipEntry(name, method, LocalDataOffset(file, localOffset, compressed, name), compressed, size));
            pos += recordLength;
        }
        return entries;
    }

    private static long FindEndOfCentralDirectory(MappedFile file)
    {
        if (file.Length < 22)
            throw Bad(file, "too short for a zip archive");
        long lowest = Math.Max(0, file.Length - 22 - 0xFFFF);
        for (long at = file.Length - 22; at >= lowest; at--)
        {
            var s = file.Span(at, 22, "end of central directory");
            if (BinaryPrimitives.ReadUInt32LittleEndian(s) == EndOfCentralDirectory
                && at + 22 + BinaryPrimitives.ReadUInt16LittleEndian(s[20..]) == file.Length)
                return at;
        }
        throw Bad(file, "zip end-of-central-directory record not found (truncated file?)");
    }

    private static void ReadZip64Extra(MappedFile file, ReadOnlySpan<byte> extra, string name, ref long size, ref long compressed, ref long localOffset)
    {
        while (extra.Length >= 4)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4)
                throw Bad(file, $"entry '{name}' has a truncated extra field");
            var body = extra.Slice(4, length);
            if (id == 0x0001)
            {
                int at = 0;
                if (size == 0xFFFFFFFF) size = Field(body, ref at);
                if (compressed == 0xFFFFFFFF) compressed = Field(body, ref at);
                if (localOffset == 0xFFFFFFFF) localOffset = Field(body, ref at);
            }
            extra = extra[(4 + length)..];
        }

        long Field(ReadOnlySpan<byte> body, ref int at)
        {
            if (body.Length - at < 8)
                throw Bad(file, $"entry '{name}' has a truncated ZIP64 extra field");
            long v = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(body[at..]));
            at += 8;
            return v;
        }
    }

    private static long LocalDataOffset(MappedFile file, long localOffset, long compressed, string name)
    {
        var l = file.Span(localOffset, 30, $"local header of entry '{name}'");
        if (BinaryPrimitives.ReadUInt32LittleEndian(l) != LocalHeader)
            throw Bad(file, $"bad local header of entry '{name}'");
        long dataOffset = localOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(l[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(l[28..]);
        if (!file.Contains(dataOffset, compressed))
            throw Bad(file, $"data of entry '{name}' ({compressed} bytes at offset {dataOffset}) runs past the end of the file");
        return dataOffset;
    }

    private static long ToLong(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;

    private static ModelFileException Bad(MappedFile file, string problem) => new($"{file.Name}: {problem}");
}
