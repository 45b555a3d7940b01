namespace Discovery.Testing.Store;

/// <summary>The result of opening a watch: the subscription and the events to send before live ones, or the too-old answer.</summary>
internal sealed record WatchStart(WatchSubscription? Subscription, IReadOnlyList<StoreEvent> Backlog, long? TooOldRequested, long OldestValid);
