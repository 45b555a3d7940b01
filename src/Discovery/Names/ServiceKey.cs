namespace Discovery;

/// <summary>Identifies a Kubernetes Service (or pod-selector target) by namespace and name.</summary>
/// <param name="Namespace">The namespace, lower case.</param>
/// <param name="Name">The Service name, lower case.</param>
public readonly record struct ServiceKey(string Namespace, string Name)
{
    /// <summary>Returns <c>namespace/name</c>, the form kubectl uses.</summary>
    public override string ToString() => Namespace + "/" + Name;
}
