namespace Discovery.Internal;

/// <summary>
/// The client gave up on a watch stream because of a line it could not parse (some truncated lines are thrown from the
/// enumeration rather than reported per line): the stream is over, but resuming from the last resourceVersion loses nothing.
/// </summary>
internal sealed class MalformedWatchStreamException(Exception innerException)
    : Exception("The watch stream carried a line that could not be parsed.", innerException);
