using k8s.Models;

namespace Discovery.Demo.Cluster;

/// <summary>
/// A Service with a selector and the pods behind it, as the cluster's controllers would keep it: the Deployment's
/// pods and the one EndpointSlice the EndpointSlice controller maintains for them.
/// </summary>
public sealed class ServiceBackend
{
    private readonly List<PodEndpoint> _pods = [];

    /// <summary>Creates the description; nothing is published yet.</summary>
    public ServiceBackend(string @namespace, string serviceName, int servicePort, int targetPort)
    {
        Namespace = @namespace;
        ServiceName = serviceName;
        ServicePort = servicePort;
        TargetPort = targetPort;
        // The controller names slices after the Service plus a random suffix; a fixed one keeps runs comparable.
        SliceName = serviceName + "-x7k2p";
    }

    /// <summary>The namespace.</summary>
    public string Namespace { get; }

    /// <summary>The Service name.</summary>
    public string ServiceName { get; }

    /// <summary>The EndpointSlice name.</summary>
    public string SliceName { get; }

    /// <summary>The Service port (what a URI names).</summary>
    public int ServicePort { get; }

    /// <summary>The container port every pod listens on.</summary>
    public int TargetPort { get; }

    /// <summary>The name of the single port.</summary>
    public string PortName => "http";

    /// <summary>The pods, in creation order.</summary>
    public IReadOnlyList<PodEndpoint> Pods => _pods;

    /// <summary>The label selector of the Service (and the pods' labels).</summary>
    public IDictionary<string, string> Selector => new Dictionary<string, string>
    {
        ["app"] = ServiceName.Split('-')[0],
        ["env"] = "prod",
    };

    /// <summary>The resourceVersion of the slice as last written, for the next optimistic replace.</summary>
    internal string? SliceResourceVersion { get; set; }

    /// <summary>Adds a pod to the set the slice publishes.</summary>
    internal PodEndpoint Add(PodServer server, EndpointState state)
    {
        var pod = new PodEndpoint(server, state);
        _pods.Add(pod);
        return pod;
    }

    /// <summary>Removes a pod from the set the slice publishes.</summary>
    internal void Remove(PodEndpoint pod) => _pods.Remove(pod);

    /// <summary>Finds a pod by name.</summary>
    public PodEndpoint Pod(string name) => _pods.Single(p => p.Name == name);

    /// <summary>The Service object.</summary>
    public V1Service BuildService() => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = ServiceName, NamespaceProperty = Namespace },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = Selector,
            Ports = [new V1ServicePort { Name = PortName, Port = ServicePort, TargetPort = PortName, Protocol = "TCP" }],
        },
    };

    /// <summary>The EndpointSlice as the controller would write it for the current pods.</summary>
    public V1EndpointSlice BuildSlice() => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta
        {
            Name = SliceName,
            NamespaceProperty = Namespace,
            ResourceVersion = SliceResourceVersion,
            Labels = new Dictionary<string, string>
            {
                ["kubernetes.io/service-name"] = ServiceName,
                ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
            },
        },
        AddressType = "IPv4",
        Endpoints = [.. _pods.Select(pod => new V1Endpoint
        {
            Addresses = [pod.Address],
            Conditions = new V1EndpointConditions
            {
                Ready = pod.State.Ready,
                Serving = pod.State.Serving,
                Terminating = pod.State.Terminating,
            },
            TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod.Name, NamespaceProperty = Namespace },
            NodeName = "demo-node",
        })],
        Ports = [new Discoveryv1EndpointPort { Name = PortName, Port = TargetPort, Protocol = "TCP" }],
    };
}
