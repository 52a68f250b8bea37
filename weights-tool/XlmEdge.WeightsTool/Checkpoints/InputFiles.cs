using System.Runtime.InteropServices;
using System.Text.Json;

namespace XlmEdge.WeightsTool.Checkpoints;

/// <summary>A file's identity on its file system (device and inode): two paths name one file when these agree.</summary>
internal readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode);

/// <summary>
/// How the tool opens what it reads: regular files only (a FIFO would block the open forever, a
/// device such as /dev/zero never ends), no more bytes than a limit (counted as read, so a file
/// that grows cannot get past it), and JSON whose every string is valid Unicode.
/// </summary>
internal static partial class InputFiles
{
    /// <summary>Refuses <paramref name="path"/> unless it is a regular file (after symbolic links), before anything opens it.</summary>
    /// <exception cref="ModelFileException">The path names a FIFO, a device, a socket or a folder.</exception>
    public static void RequireRegularFile(string path)
    {
        var kind = KindOf(path);
        if (kind is not (null or FileKind.Regular or FileKind.Missing))
            throw new ModelFileException($"{Path.GetFileName(path)} is {Describe(kind.Value)}, not a regular file");
    }

    /// <summary>Whether <paramref name="path"/> exists and is not a regular file; false where the system cannot tell.</summary>
    public static bool IsSpecialFile(string path) => KindOf(path) is FileKind.Other or FileKind.Directory;

    /// <summary>The identity of the file <paramref name="path"/> names (after symbolic links), or null when it cannot be told.</summary>
    public static unsafe FileIdentity? Identity(string path)
    {
        byte* status = stackalloc byte[StatxSize];
        return Stat(path, status) ? new FileIdentity(*(uint*)(status + 136), *(uint*)(status + 140), *(ulong*)(status + 32)) : null;
    }

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <exception cref="ModelFileException">The file is missing, not a regular file, or longer than the limit.</exception>
    public static byte[] ReadLimited(string path, long maxBytes, string what)
    {
        string name = Path.GetFileName(path);
        RequireRegularFile(path);
        if (!File.Exists(path))
            throw new ModelFileException($"{name} not found in {Path.GetDirectoryName(path)}");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        if (stream.Length > maxBytes)
            throw new ModelFileException($"{name}: more than {maxBytes} bytes, more than {what} can plausibly be");
        var buffer = new MemoryStream((int)stream.Length);
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                throw new ModelFileException($"{name}: more than {maxBytes} bytes, more than {what} can plausibly be");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Parses JSON and checks that every name and string in it is valid Unicode, so that reading
    /// any of them later cannot fail (System.Text.Json accepts a lone surrogate escape such as
    /// "\ud800" and invalid UTF-8 when parsing, and only throws when the string is read).
    /// </summary>
    /// <exception cref="ModelFileException">The bytes are not JSON, nest too deep, or hold a string that is not Unicode.</exception>
    public static JsonDocument ParseJson(byte[] bytes, string name, int maxDepth)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            throw new ModelFileException($"{name}: invalid JSON ({e.Message.ReplaceLineEndings(" ")})");
        }
        try
        {
            CheckStrings(document.RootElement, name);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static void CheckStrings(JsonElement element, string name)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        CheckStrings(property.Value, name);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                        CheckStrings(item, name);
                    break;
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
            }
        }
        catch (InvalidOperationException)
        {
            throw new ModelFileException($"{name}: a name or string is not valid Unicode (a lone surrogate escape such as \\ud800, or invalid UTF-8)");
        }
    }

    private enum FileKind { Missing, Regular, Directory, Other }

    private const int StatxSize = 256;

    private static unsafe FileKind? KindOf(string path)
    {
        byte* status = stackalloc byte[StatxSize];
        if (!Stat(path, status))
            return File.Exists(path) || Directory.Exists(path) ? null : FileKind.Missing;
        return (*(ushort*)(status + 28) & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Other,
        };
    }

    private static string Describe(FileKind kind) => kind == FileKind.Directory ? "a folder" : "a FIFO, a device or a socket";

    /// <summary>
    /// Linux statx(2), whose struct layout is the same on every architecture (.NET has no public
    /// call that tells a FIFO or a device from a regular file). Follows symbolic links.
    /// </summary>
    private static unsafe bool Stat(string path, byte* status)
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            const int AtCurrentDirectory = -100;
            const uint TypeModeAndInode = 0x7ff; // STATX_BASIC_STATS
            return Statx(AtCurrentDirectory, path, 0, TypeModeAndInode, status) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // a C library older than glibc 2.28
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* status);
}
