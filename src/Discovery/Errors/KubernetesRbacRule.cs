namespace Discovery;

/// <summary>One RBAC rule discovery needs: verbs on a resource of an API group, in the namespace of the Service concerned.</summary>
/// <param name="ApiGroup">The API group (empty for the core group).</param>
/// <param name="Resource">The resource (<c>services</c>, <c>endpointslices</c>, <c>endpoints</c>, <c>pods</c>).</param>
/// <param name="Verbs">The verbs (<c>get</c>, <c>list</c>, <c>watch</c>).</param>
public sealed record KubernetesRbacRule(string ApiGroup, string Resource, IReadOnlyList<string> Verbs)
{
    /// <summary>The rule as a Role writes it: <c>apiGroups: [""], resources: [services], verbs: [get, list, watch]</c>.</summary>
    public override string ToString()
        => $"apiGroups: [{(ApiGroup.Length == 0 ? "\"\"" : ApiGroup)}], resources: [{Resource}], verbs: [{string.Join(", ", Verbs)}]";
}
