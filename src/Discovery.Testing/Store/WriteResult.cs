namespace Discovery.Testing.Store;

/// <summary>The outcome of a store write.</summary>
/// <param name="Stored">The object now stored (null after a delete).</param>
/// <param name="Previous">The object before the write (null on create).</param>
/// <param name="Event">The event emitted, or null for a no-op.</param>
internal sealed record WriteResult(StoredObject? Stored, StoredObject? Previous, StoreEvent? Event);
