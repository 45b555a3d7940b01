namespace Discovery.Demo.Story;

/// <summary>How long the story lets traffic flow in each step, so that a run fits the time it was given.</summary>
/// <param name="TrafficWindow">How long each phase watches traffic.</param>
/// <param name="ChangeTimeout">How long a phase waits for the application to see a change before calling it a failure.</param>
/// <param name="Concurrency">Concurrent callers per Service.</param>
/// <param name="PauseBetweenRequests">Each caller's pause after a request.</param>
public sealed record DemoPacing(TimeSpan TrafficWindow, TimeSpan ChangeTimeout, int Concurrency, TimeSpan PauseBetweenRequests)
{
    /// <summary>The pace for a person watching: long enough to read along.</summary>
    public static DemoPacing Interactive { get; } = new(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), 4, TimeSpan.FromMilliseconds(2));

    /// <summary>
    /// A pace that fits the whole story into <paramref name="duration"/>: about ten traffic windows, plus start-up.
    /// </summary>
    public static DemoPacing ForDuration(TimeSpan duration)
    {
        var window = TimeSpan.FromTicks(Math.Clamp(duration.Ticks / 12, TimeSpan.FromMilliseconds(300).Ticks, TimeSpan.FromSeconds(6).Ticks));
        return Interactive with { TrafficWindow = window };
    }
}
