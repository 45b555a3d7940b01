namespace Discovery.Testing.Wire;

/// <summary>How a field behaves when it has no value, mirroring Go's encoding/json tags.</summary>
internal enum OmitRule
{
    /// <summary>A pointer with <c>omitempty</c>: dropped only when absent or null.</summary>
    WhenNull,

    /// <summary>A value type, map or slice with <c>omitempty</c>: dropped when absent, null, "", 0, false, {} or [].</summary>
    WhenEmpty,

    /// <summary>No <c>omitempty</c> (or a struct): always written; the zero value stands in when absent.</summary>
    Always,
}
