namespace XlmEdge;

/// <summary>Base type of every error XlmEdge reports about its inputs (model files or text).</summary>
public class XlmEdgeException : Exception
{
    /// <summary>Creates the exception with a message that names the problem.</summary>
    public XlmEdgeException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public XlmEdgeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A model or checkpoint file is malformed, truncated, hostile, or describes a model this
/// runtime does not run (another architecture, a missing or misshaped tensor).
/// </summary>
public class ModelFileException : XlmEdgeException
{
    /// <inheritdoc cref="XlmEdgeException(string)"/>
    public ModelFileException(string message) : base(message) { }

    /// <inheritdoc cref="XlmEdgeException(string, Exception)"/>
    public ModelFileException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Text cannot be processed as asked: an unknown language, no mask to fill, more tokens than
/// the model's context, or input past a documented size limit.
/// </summary>
public class InvalidInputException : XlmEdgeException
{
    /// <inheritdoc cref="XlmEdgeException(string)"/>
    public InvalidInputException(string message) : base(message) { }
}

/// <summary>
/// The backend asked for in <see cref="XlmModelOptions.Backend"/> cannot run: no CUDA device (or no
/// CUDA driver) on this machine, or no <see cref="XlmModelOptions.BackendProvider"/> to reach one.
/// <see cref="XlmBackend.Auto"/> falls back to the CPU instead of throwing this.
/// </summary>
public class BackendUnavailableException : XlmEdgeException
{
    /// <inheritdoc cref="XlmEdgeException(string)"/>
    public BackendUnavailableException(string message) : base(message) { }

    /// <inheritdoc cref="XlmEdgeException(string, Exception)"/>
    public BackendUnavailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The operating system refused to lock the model in memory (<see cref="XlmModelOptions.LockInMemory"/>): the
/// process may not lock that much (Linux: RLIMIT_MEMLOCK without CAP_IPC_LOCK) or RAM is short. The message
/// names the limit to raise.
/// </summary>
public class MemoryLockException : XlmEdgeException
{
    /// <inheritdoc cref="XlmEdgeException(string)"/>
    public MemoryLockException(string message) : base(message) { }
}

/// <summary>The device lacks the memory that the model's weights or a call's activations need.</summary>
public class DeviceOutOfMemoryException : XlmEdgeException
{
    /// <summary>Creates the exception; the message names what needs the memory, how much, and how much is free.</summary>
    public DeviceOutOfMemoryException(string what, long requiredBytes, long freeBytes)
        : base(Describe(what, requiredBytes, freeBytes))
    {
        RequiredBytes = requiredBytes;
        FreeBytes = freeBytes;
    }

    /// <summary>As <see cref="DeviceOutOfMemoryException(string, long, long)"/>, for an allocation the device refused.</summary>
    public DeviceOutOfMemoryException(string what, long requiredBytes, long freeBytes, Exception inner)
        : base(Describe(what, requiredBytes, freeBytes), inner)
    {
        RequiredBytes = requiredBytes;
        FreeBytes = freeBytes;
    }

    /// <summary>Bytes the weights or the call needed.</summary>
    public long RequiredBytes { get; }

    /// <summary>Bytes the device reported free when they were asked for.</summary>
    public long FreeBytes { get; }

    private static string Describe(string what, long required, long free) =>
        $"the device is out of memory: {what} needs {Mib(required)} and {Mib(free)} is free";

    private static string Mib(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MiB");
}
