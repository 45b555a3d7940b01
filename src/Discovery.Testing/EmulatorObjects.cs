using k8s.Models;

namespace Discovery.Testing;

/// <summary>
/// Short builders for the objects discovery tests need, to pass to
/// <see cref="KubernetesApiEmulator.Apply{T}"/> or to a client's create calls.
/// </summary>
public static class EmulatorObjects
{
    /// <summary>The label that ties an EndpointSlice to its Service.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>The label naming the controller that manages an EndpointSlice.</summary>
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";

    /// <summary>A namespace.</summary>
    public static V1Namespace Namespace(string name, IDictionary<string, string>? labels = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
    };

    /// <summary>A ClusterIP Service selecting <c>app=&lt;name&gt;</c> with the given ports (see <see cref="ServicePort"/>).</summary>
    public static V1Service Service(string @namespace, string name, params V1ServicePort[] ports) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = new Dictionary<string, string> { ["app"] = name } },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = new Dictionary<string, string> { ["app"] = name },
            Ports = ports.Length == 0 ? null : [.. ports],
        },
    };

    /// <summary>A headless Service (<c>clusterIP: None</c>).</summary>
    public static V1Service HeadlessService(string @namespace, string name, params V1ServicePort[] ports)
    {
        var service = Service(@namespace, name, ports);
        service.Spec.ClusterIP = "None";
        return service;
    }

    /// <summary>An ExternalName Service resolving to <paramref name="externalName"/>.</summary>
    public static V1Service ExternalNameService(string @namespace, string name, string externalName) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
        Spec = new V1ServiceSpec { Type = "ExternalName", ExternalName = externalName },
    };

    /// <summary>A Service port; the target port defaults to <paramref name="port"/>.</summary>
    public static V1ServicePort ServicePort(int port, string? name = null, int? targetPort = null, string? appProtocol = null, string protocol = "TCP") => new()
    {
        Name = name,
        Port = port,
        TargetPort = targetPort ?? port,
        AppProtocol = appProtocol,
        Protocol = protocol,
    };

    /// <summary>
    /// An EndpointSlice of <paramref name="serviceName"/> (labelled <c>kubernetes.io/service-name</c>)
    /// holding <paramref name="endpoints"/> (see <see cref="Endpoint"/>) and <paramref name="ports"/> (see <see cref="SlicePort"/>).
    /// </summary>
    public static V1EndpointSlice EndpointSlice(string @namespace, string serviceName, string sliceName, string addressType, IEnumerable<V1Endpoint> endpoints, params Discoveryv1EndpointPort[] ports) => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta
        {
            Name = sliceName,
            NamespaceProperty = @namespace,
            Labels = new Dictionary<string, string>
            {
                [ServiceNameLabel] = serviceName,
                [ManagedByLabel] = "endpointslice-controller.k8s.io",
            },
        },
        AddressType = addressType,
        Endpoints = [.. endpoints],
        Ports = [.. ports],
    };

    /// <summary>An IPv4 EndpointSlice with one endpoint per address, all with the same conditions.</summary>
    public static V1EndpointSlice EndpointSlice(string @namespace, string serviceName, string sliceName, int port, string? portName, IEnumerable<string> addresses, bool? ready = true) =>
        EndpointSlice(@namespace, serviceName, sliceName, "IPv4", addresses.Select(a => Endpoint(a, ready)), SlicePort(port, portName));

    /// <summary>One endpoint. A null condition is left out (the API reads absent ready/serving as true, terminating as false).</summary>
    public static V1Endpoint Endpoint(string address, bool? ready = true, bool? serving = null, bool? terminating = null, string? zone = null, string? nodeName = null, string? hintZone = null) => new()
    {
        Addresses = [address],
        Conditions = new V1EndpointConditions { Ready = ready, Serving = serving ?? ready, Terminating = terminating ?? (ready is null ? null : false) },
        Zone = zone,
        NodeName = nodeName,
        Hints = hintZone is null ? null : new V1EndpointHints { ForZones = [new V1ForZone { Name = hintZone }] },
    };

    /// <summary>An EndpointSlice port.</summary>
    public static Discoveryv1EndpointPort SlicePort(int port, string? name = null, string? appProtocol = null, string protocol = "TCP") => new()
    {
        Name = name,
        Port = port,
        AppProtocol = appProtocol,
        Protocol = protocol,
    };

    /// <summary>A core/v1 Endpoints object with one subset: <paramref name="ready"/> in addresses, <paramref name="notReady"/> in notReadyAddresses.</summary>
    public static V1Endpoints Endpoints(string @namespace, string name, IEnumerable<string> ready, IEnumerable<string>? notReady, params Corev1EndpointPort[] ports)
    {
        var readyList = ready.Select(ip => new V1EndpointAddress { Ip = ip }).ToList();
        var notReadyList = notReady?.Select(ip => new V1EndpointAddress { Ip = ip }).ToList();
        return new V1Endpoints
        {
            ApiVersion = "v1",
            Kind = "Endpoints",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = new Dictionary<string, string> { ["app"] = name } },
            Subsets = readyList.Count == 0 && (notReadyList is null || notReadyList.Count == 0)
                ? null
                : [new V1EndpointSubset { Addresses = readyList.Count == 0 ? null : readyList, NotReadyAddresses = notReadyList is { Count: > 0 } ? notReadyList : null, Ports = [.. ports] }],
        };
    }

    /// <summary>A core/v1 Endpoints port.</summary>
    public static Corev1EndpointPort EndpointsPort(int port, string? name = null, string? appProtocol = null, string protocol = "TCP") => new()
    {
        Name = name,
        Port = port,
        AppProtocol = appProtocol,
        Protocol = protocol,
    };

    /// <summary>A running pod with labels and an IP; <paramref name="ready"/> sets its Ready condition.</summary>
    public static V1Pod Pod(string @namespace, string name, IDictionary<string, string> labels, string podIp, bool ready = true, int containerPort = 8080) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = labels },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "app", Image = "app:latest", Ports = [new V1ContainerPort { ContainerPort = containerPort, Protocol = "TCP" }] }],
            NodeName = "node-a",
        },
        Status = new V1PodStatus
        {
            Phase = "Running",
            PodIP = podIp,
            PodIPs = [new V1PodIP { Ip = podIp }],
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
        },
    };
}
