namespace Discovery.Testing.Store;

/// <summary>Kinds of <see cref="WriteDecision"/>.</summary>
internal enum WriteDecisionKind
{
    Store,
    Delete,

    /// <summary>Nothing changed: no new revision, no event (the real server skips no-op writes too).</summary>
    Unchanged,
}
