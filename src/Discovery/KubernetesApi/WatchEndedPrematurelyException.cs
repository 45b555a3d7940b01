namespace Discovery.Internal;

/// <summary>Several watches in a row ended at once without any event: back off as after a failure.</summary>
internal sealed class WatchEndedPrematurelyException()
    : Exception("The API server keeps ending watches immediately without sending anything.");
