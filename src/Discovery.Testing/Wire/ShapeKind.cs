namespace Discovery.Testing.Wire;

/// <summary>What kind of Go value a JSON node mirrors.</summary>
internal enum ShapeKind
{
    /// <summary>Kept exactly as given.</summary>
    Any,

    /// <summary>A Go struct: fixed key order.</summary>
    Struct,

    /// <summary>A Go map: Go writes its keys sorted.</summary>
    Map,

    /// <summary>A Go slice.</summary>
    Array,
}
