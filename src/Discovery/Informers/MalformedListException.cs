namespace Discovery.Internal;

/// <summary>
/// A list answer with objects of which none can be held (every item null or without a name): a broken answer, not an
/// empty set. Failed like an unreachable API — the last good set stays, the list is retried with back-off — and logged
/// once until a good list arrives.
/// </summary>
internal sealed class MalformedListException : Exception
{
    public MalformedListException()
    {
    }

    public MalformedListException(string message)
        : base(message)
    {
    }

    public MalformedListException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MalformedListException(string query, int count)
        : base($"The list of {query} returned {count} item(s), none of them with a name; the last good set stays in use.")
    {
    }
}
