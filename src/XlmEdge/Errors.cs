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
