namespace Discovery.Testing.Store;

/// <summary>What a queued watch item is.</summary>
internal enum StoreEventType
{
    Added,
    Modified,
    Deleted,

    /// <summary>A bookmark the watch's timer asked for; carries the revision to report.</summary>
    Bookmark,

    /// <summary>A fault: write one line of garbage.</summary>
    Malformed,
}
