namespace Discovery.Demo.Cluster;

/// <summary>The conditions an EndpointSlice publishes for one pod.</summary>
/// <param name="Ready">The pod passes its readiness probe and is not terminating.</param>
/// <param name="Serving">The pod passes its readiness probe, terminating or not.</param>
/// <param name="Terminating">The pod is being deleted.</param>
public readonly record struct EndpointState(bool Ready, bool Serving, bool Terminating)
{
    /// <summary>A healthy pod.</summary>
    public static EndpointState Healthy { get; } = new(Ready: true, Serving: true, Terminating: false);

    /// <summary>A pod failing its readiness probe.</summary>
    public static EndpointState NotReady { get; } = new(Ready: false, Serving: false, Terminating: false);

    /// <summary>A pod that received its deletion and still serves while it shuts down (the kubelet's grace period).</summary>
    public static EndpointState TerminatingButServing { get; } = new(Ready: false, Serving: true, Terminating: true);

    /// <inheritdoc/>
    public override string ToString() => $"ready={Lower(Ready)} serving={Lower(Serving)} terminating={Lower(Terminating)}";

    private static string Lower(bool value) => value ? "true" : "false";
}
