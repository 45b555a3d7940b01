namespace Discovery.Internal;

/// <summary>What one list request said about a <c>name.namespace</c> host (see <see cref="ServiceVisibilityCache"/>).</summary>
internal enum ServiceVisibility
{
    /// <summary>The Service exists and may be read.</summary>
    Visible,

    /// <summary>The namespace may be read and holds no Service of that name.</summary>
    NotFound,

    /// <summary>RBAC refuses listing Services in the namespace.</summary>
    Forbidden,

    /// <summary>The API could not answer (unreachable, timeout, server error).</summary>
    Unknown,
}
