using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>
/// A checkpoint file mapped read-only. Tensors are read in place, one at a time, so packing a
/// large checkpoint never holds more than the pages the kernel keeps mapped.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly SafeMemoryMappedViewHandle? _handle;
    private readonly byte* _pointer;

    public string Path { get; }
    public long Length { get; }

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        if (view is not null)
        {
            _handle = view.SafeMemoryMappedViewHandle;
            byte* p = null;
            _handle.AcquirePointer(ref p);
            _pointer = p + view.PointerOffset;
        }
    }

    public static MappedFile Open(string path)
    {
        InputFiles.RequireRegularFile(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        if (length == 0)
            return new MappedFile(path, 0, null, null);
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new MappedFile(path, length, map, view);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>True when [offset, offset + count) lies inside the file (no overflow possible).</summary>
    public bool Contains(long offset, long count) => offset >= 0 && count >= 0 && offset <= Length && count <= Length - offset;

    /// <summary>A bounds-checked view of at most int.MaxValue bytes.</summary>
    public ReadOnlySpan<byte> Span(long offset, long count, string what)
    {
        if (!Contains(offset, count))
            throw new ModelFileException($"{Name}: {what} (bytes {offset}..{offset + count}) lies outside the file ({Length} bytes)");
        if (count > int.MaxValue)
            throw new ModelFileException($"{Name}: {what} is larger than 2 GiB");
        return new ReadOnlySpan<byte>(_pointer + offset, (int)count);
    }

    public string Name => System.IO.Path.GetFileName(Path);

    public void Dispose()
    {
        if (_handle is not null)
            _handle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }
}
