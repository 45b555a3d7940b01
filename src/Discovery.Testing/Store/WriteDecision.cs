using System.Text.Json.Nodes;

namespace Discovery.Testing.Store;

/// <summary>What a write callback decided to do with the stored object.</summary>
internal sealed class WriteDecision
{
    private WriteDecision(WriteDecisionKind kind, JsonObject? node)
    {
        Kind = kind;
        Node = node;
    }

    public WriteDecisionKind Kind { get; }

    /// <summary>The canonical object to store (for <see cref="WriteDecisionKind.Store"/>).</summary>
    public JsonObject? Node { get; }

    public static WriteDecision Store(JsonObject canonical) => new(WriteDecisionKind.Store, canonical);

    public static WriteDecision Delete() => new(WriteDecisionKind.Delete, null);

    public static WriteDecision Unchanged() => new(WriteDecisionKind.Unchanged, null);
}
