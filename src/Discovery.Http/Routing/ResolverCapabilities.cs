namespace Discovery.Http;

/// <summary>
/// What the handler may rely on from its <see cref="IServiceEndpointResolver"/> beyond the interface, decided once when a client
/// is built and passed to it as a typed argument, so that the request path never asks what kind of resolver it has.
/// </summary>
/// <param name="MarksSupersededSnapshots">
/// Whether the resolver marks each snapshot it replaces (<see cref="ServiceEndpointSnapshot.IsSuperseded"/>), so that a host
/// entry may hold the snapshot it looked up and check it with one read per request. A resolver that does not would leave a
/// held snapshot looking current after it changed: its snapshots are looked up on every request.
/// </param>
/// <param name="LocalNode">Where this application runs (node name and zone, for topology-aware routing), when the resolver knows.</param>
internal sealed record ResolverCapabilities(bool MarksSupersededSnapshots, LocalNode? LocalNode)
{
    /// <summary>A resolver known only by its interface: snapshots are looked up on every request, and the node is unknown.</summary>
    public static readonly ResolverCapabilities None = new(false, null);

    /// <summary>
    /// The capabilities of <paramref name="resolver"/>. The discovery core's resolver documents both (see
    /// <see cref="ServiceEndpointSnapshot.IsSuperseded"/> and <see cref="KubernetesServiceEndpointResolver.LocalNode"/>); it is the
    /// only one recognised, here and nowhere else.
    /// </summary>
    public static ResolverCapabilities Of(IServiceEndpointResolver resolver)
        => resolver is KubernetesServiceEndpointResolver core ? new ResolverCapabilities(true, core.LocalNode) : None;
}
