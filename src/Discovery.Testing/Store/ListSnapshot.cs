namespace Discovery.Testing.Store;

/// <summary>Objects of one type sorted by key, as of a revision.</summary>
internal sealed record ListSnapshot(IReadOnlyList<StoredObject> Items, long Revision);
