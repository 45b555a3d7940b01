namespace Discovery.Internal;

/// <summary>A watch stayed open past its own timeout plus the grace period: the connection is presumed dead.</summary>
internal sealed class WatchDeadlineExceededException(TimeSpan deadline)
    : Exception($"The watch stayed open {deadline} without the server ending it; the connection is presumed dead.")
{
    public TimeSpan Deadline { get; } = deadline;
}
