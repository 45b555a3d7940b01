using System.Collections.Immutable;
using System.Net.Sockets;

namespace Discovery;

/// <summary>One endpoint of a Service: an address (usually a pod IP) with its ports, readiness and topology.</summary>
/// <remarks>Immutable. Instances are shared by every snapshot that contains the same endpoint unchanged.</remarks>
public sealed class ServiceEndpoint
{
    /// <summary>Creates an endpoint.</summary>
    public ServiceEndpoint(
        string address,
        AddressFamily addressFamily,
        ImmutableArray<EndpointPort> ports,
        bool isReady,
        bool isServing,
        bool isTerminating,
        string? zone = null,
        string? nodeName = null,
        string? podName = null,
        string? hostname = null,
        ImmutableArray<string> zoneHints = default,
        ImmutableArray<string> nodeHints = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        Address = address;
        AddressFamily = addressFamily;
        Ports = ports.IsDefault ? [] : ports;
        IsReady = isReady;
        IsServing = isServing;
        IsTerminating = isTerminating;
        Zone = zone;
        NodeName = nodeName;
        PodName = podName;
        Hostname = hostname;
        ZoneHints = zoneHints.IsDefault ? [] : zoneHints;
        NodeHints = nodeHints.IsDefault ? [] : nodeHints;
    }

    /// <summary>
    /// The address to connect to: an IPv4 or IPv6 literal in canonical text (as <see cref="System.Net.IPAddress.ToString"/>
    /// writes it), or a DNS name (ExternalName Services, load balancer hostnames). Discovery never publishes anything else.
    /// </summary>
    public string Address { get; }

    /// <summary><see cref="AddressFamily.InterNetwork"/>, <see cref="AddressFamily.InterNetworkV6"/>, or <see cref="AddressFamily.Unspecified"/> for a DNS name.</summary>
    public AddressFamily AddressFamily { get; }

    /// <summary>The ports the endpoint publishes (target ports).</summary>
    public ImmutableArray<EndpointPort> Ports { get; }

    /// <summary>Whether the endpoint is ready (an absent condition counts as ready).</summary>
    public bool IsReady { get; }

    /// <summary>Whether the endpoint is serving (an absent condition counts as serving).</summary>
    public bool IsServing { get; }

    /// <summary>Whether the endpoint is terminating.</summary>
    public bool IsTerminating { get; }

    /// <summary>The zone the endpoint runs in, if known.</summary>
    public string? Zone { get; }

    /// <summary>The node the endpoint runs on, if known.</summary>
    public string? NodeName { get; }

    /// <summary>The name of the pod behind the endpoint (from <c>targetRef</c>), if known.</summary>
    public string? PodName { get; }

    /// <summary>The endpoint's hostname, if published.</summary>
    public string? Hostname { get; }

    /// <summary>The zones this endpoint is hinted for (<c>hints.forZones</c>).</summary>
    public ImmutableArray<string> ZoneHints { get; }

    /// <summary>The nodes this endpoint is hinted for (<c>hints.forNodes</c>, written for <c>trafficDistribution: PreferSameNode</c>).</summary>
    public ImmutableArray<string> NodeHints { get; }

    /// <summary>Finds the port with the given name (empty string for an unnamed port).</summary>
    /// <returns><see langword="true"/> when the endpoint publishes such a port.</returns>
    public bool TryGetPort(string name, out EndpointPort port)
    {
        foreach (var candidate in Ports)
        {
            if (string.Equals(candidate.Name, name, StringComparison.Ordinal))
            {
                port = candidate;
                return true;
            }
        }

        port = default;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => PodName is null ? Address : $"{Address} ({PodName})";
}
