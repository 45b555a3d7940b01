namespace Discovery.Demo.App;

/// <summary>One request the traffic generator sent.</summary>
/// <param name="Target">The URI as the application wrote it.</param>
/// <param name="StartedAt">The <see cref="System.Diagnostics.Stopwatch"/> timestamp when it was sent.</param>
/// <param name="CompletedAt">The timestamp when it completed or failed.</param>
/// <param name="Pod">The pod that answered, or <see langword="null"/> when it failed.</param>
/// <param name="Error">Why it failed, or <see langword="null"/>.</param>
public sealed record RequestRecord(Uri Target, long StartedAt, long CompletedAt, string? Pod, string? Error)
{
    /// <summary>Whether it got an answer.</summary>
    public bool Succeeded => Error is null;
}
