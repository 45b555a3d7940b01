namespace Discovery.Demo.Cluster;

/// <summary>One pod of a <see cref="ServiceBackend"/> and the conditions its endpoint currently publishes.</summary>
public sealed class PodEndpoint
{
    /// <summary>Creates the pair.</summary>
    public PodEndpoint(PodServer server, EndpointState state)
    {
        Server = server;
        State = state;
    }

    /// <summary>The pod's server.</summary>
    public PodServer Server { get; }

    /// <summary>The conditions published in the EndpointSlice.</summary>
    public EndpointState State { get; set; }

    /// <summary>The pod name.</summary>
    public string Name => Server.Name;

    /// <summary>The pod IP.</summary>
    public string Address => Server.Address.ToString();
}
