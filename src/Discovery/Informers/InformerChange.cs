namespace Discovery.Internal;

/// <summary>How an informer's store changed.</summary>
internal enum InformerChangeKind
{
    /// <summary>A list swapped a whole new set in (first sync, re-list, or the first list after a fallback).</summary>
    Listed,

    /// <summary>A watch event added or replaced the object <see cref="InformerChange.Name"/>.</summary>
    Updated,

    /// <summary>A watch event removed the object <see cref="InformerChange.Name"/> (deleted, or no longer matching).</summary>
    Removed,
}

/// <summary>
/// What an informer tells its owner about one change: which informer, how, the object's name (events only), and the
/// store before and after. Passed as an argument, so an owner never reads the informer's state "during the call".
/// </summary>
/// <param name="Informer">The informer whose store changed.</param>
/// <param name="Kind">How it changed.</param>
/// <param name="Name">The object an event changed; <see langword="null"/> for <see cref="InformerChangeKind.Listed"/>.</param>
/// <param name="Before">The store before the change.</param>
/// <param name="After">The store after the change (what <see cref="ResourceInformer.Store"/> returns now).</param>
internal readonly record struct InformerChange(ResourceInformer Informer, InformerChangeKind Kind, string? Name, InformerStore Before, InformerStore After)
{
    /// <summary>Whether a list swapped the whole set in.</summary>
    public bool IsList => Kind == InformerChangeKind.Listed;
}
