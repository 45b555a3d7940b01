namespace Discovery.Testing.Selectors;

/// <summary>A selector that cannot be parsed; answered with 400 BadRequest.</summary>
internal sealed class SelectorException : Exception
{
    public SelectorException()
    {
    }

    public SelectorException(string message)
        : base(message)
    {
    }

    public SelectorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
