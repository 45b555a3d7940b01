using System.Text;

namespace Discovery.Testing.Store;

/// <summary>
/// One change in the store, shared by every watcher. Each wire line is built once, on first
/// use, so a thousand watchers cost one serialisation.
/// </summary>
internal sealed class StoreEvent
{
    private static readonly byte[] LineEnd = "}\n"u8.ToArray();
    private byte[]? _line;
    private byte[]? _addedLine;
    private byte[]? _deletedPreviousLine;

    public StoreEvent(StoreEventType type, long resourceVersion, StoredObject? current, StoredObject? previous)
    {
        Type = type;
        ResourceVersion = resourceVersion;
        Current = current;
        Previous = previous;
    }

    public StoreEventType Type { get; }

    public long ResourceVersion { get; }

    /// <summary>The object after the change; for DELETED its last state stamped with the deletion's revision.</summary>
    public StoredObject? Current { get; }

    /// <summary>The object before the change (MODIFIED, DELETED).</summary>
    public StoredObject? Previous { get; }

    /// <summary>The line for this event as it happened.</summary>
    public byte[] Line => _line ??= BuildLine(TypeName(Type), Current!.Json);

    /// <summary>The line announcing the current object as ADDED (it started matching a selector).</summary>
    public byte[] AddedLine => _addedLine ??= BuildLine("ADDED", Current!.Json);

    /// <summary>The line announcing DELETED with the previous state at this revision (it stopped matching a selector).</summary>
    public byte[] DeletedPreviousLine => _deletedPreviousLine ??= BuildLine("DELETED", Previous!.WithResourceVersion(ResourceVersion).Json);

    public static byte[] BuildLine(string type, ReadOnlySpan<byte> objectJson)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        var line = new byte[prefix.Length + objectJson.Length + LineEnd.Length];
        prefix.CopyTo(line, 0);
        objectJson.CopyTo(line.AsSpan(prefix.Length));
        LineEnd.CopyTo(line, prefix.Length + objectJson.Length);
        return line;
    }

    private static string TypeName(StoreEventType type) => type switch
    {
        StoreEventType.Added => "ADDED",
        StoreEventType.Modified => "MODIFIED",
        StoreEventType.Deleted => "DELETED",
        _ => throw new InvalidOperationException($"{type} has no object line."),
    };
}
