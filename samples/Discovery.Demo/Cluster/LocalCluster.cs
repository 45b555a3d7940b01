using System.Diagnostics;
using System.Net;
using Discovery.Testing;
using k8s;
using k8s.Models;

namespace Discovery.Demo.Cluster;

/// <summary>
/// The demo's stand-in for a cluster: the Kubernetes API emulator plus backend "pods" as Kestrel servers on loopback
/// addresses. It plays the control plane's part (kubelet and EndpointSlice controller) by writing Services,
/// EndpointSlices and Endpoints through the ordinary Kubernetes client, exactly as they would appear in a cluster.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly KubernetesApiEmulator _emulator;
    private readonly IKubernetes _admin;
    private readonly List<PodServer> _servers = [];

    private LocalCluster(KubernetesApiEmulator emulator, IKubernetes admin)
    {
        _emulator = emulator;
        _admin = admin;
    }

    /// <summary>The emulator, for callers that want to write a kubeconfig or inject faults.</summary>
    public KubernetesApiEmulator Emulator => _emulator;

    /// <summary>Starts the emulator.</summary>
    public static async Task<LocalCluster> StartAsync(CancellationToken cancellationToken)
    {
        var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), cancellationToken);
        return new LocalCluster(emulator, emulator.CreateClient());
    }

    /// <summary>A new API client for the application, separate from the one the "control plane" writes with.</summary>
    public IKubernetes CreateClient() => _emulator.CreateClient();

    /// <summary>
    /// Starts <paramref name="pods"/> as servers sharing one container port, then creates the Service and its
    /// EndpointSlice with every pod ready.
    /// </summary>
    public async Task<ServiceBackend> DeployAsync(string @namespace, string serviceName, int servicePort, IReadOnlyList<(string Name, string Address)> pods, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pods);
        var servers = await StartPodsOnSharedPortAsync(pods, cancellationToken);
        var backend = new ServiceBackend(@namespace, serviceName, servicePort, servers[0].Port);
        foreach (var server in servers)
        {
            backend.Add(server, EndpointState.Healthy);
        }

        await _admin.CoreV1.CreateNamespacedServiceAsync(body: backend.BuildService(), namespaceParameter: @namespace, cancellationToken: cancellationToken);
        var slice = await _admin.DiscoveryV1.CreateNamespacedEndpointSliceAsync(body: backend.BuildSlice(), namespaceParameter: @namespace, cancellationToken: cancellationToken);
        backend.SliceResourceVersion = slice.Metadata.ResourceVersion;
        return backend;
    }

    /// <summary>Publishes new conditions for one pod's endpoint (what the kubelet's probe result leads to).</summary>
    /// <returns>The <see cref="Stopwatch"/> timestamp taken just before the change was written.</returns>
    public async Task<long> SetEndpointStateAsync(ServiceBackend backend, PodEndpoint pod, EndpointState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(pod);
        pod.State = state;
        return await PublishSliceAsync(backend, cancellationToken);
    }

    /// <summary>Starts one more pod on the backend's container port and publishes it as ready (a scale-up).</summary>
    /// <returns>The pod and the timestamp taken just before it appeared in the slice.</returns>
    public async Task<(PodEndpoint Pod, long ChangedAt)> AddPodAsync(ServiceBackend backend, string name, string address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var server = await PodServer.StartAsync(name, IPAddress.Parse(address), backend.TargetPort, cancellationToken);
        _servers.Add(server);
        var pod = backend.Add(server, EndpointState.Healthy);
        var changedAt = await PublishSliceAsync(backend, cancellationToken);
        return (pod, changedAt);
    }

    /// <summary>Removes a pod's endpoint from the slice (the pod object is gone).</summary>
    /// <returns>The timestamp taken just before the change was written.</returns>
    public async Task<long> RemovePodAsync(ServiceBackend backend, PodEndpoint pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(pod);
        backend.Remove(pod);
        return await PublishSliceAsync(backend, cancellationToken);
    }

    /// <summary>
    /// Creates a Service without a selector and a hand-made Endpoints object pointing at
    /// <paramref name="external"/>: how a cluster names a resource that lives outside it (a database VM, say).
    /// </summary>
    public async Task CreateSelectorlessServiceAsync(string @namespace, string serviceName, int servicePort, PodServer external, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(external);
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = serviceName, NamespaceProperty = @namespace },
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Ports = [new V1ServicePort { Name = "http", Port = servicePort, TargetPort = external.Port, Protocol = "TCP" }],
            },
        };
        var endpoints = new V1Endpoints
        {
            ApiVersion = "v1",
            Kind = "Endpoints",
            Metadata = new V1ObjectMeta { Name = serviceName, NamespaceProperty = @namespace },
            Subsets =
            [
                new V1EndpointSubset
                {
                    Addresses = [new V1EndpointAddress { Ip = external.Address.ToString() }],
                    Ports = [new Corev1EndpointPort { Name = "http", Port = external.Port, Protocol = "TCP" }],
                },
            ],
        };
        await _admin.CoreV1.CreateNamespacedServiceAsync(body: service, namespaceParameter: @namespace, cancellationToken: cancellationToken);
        await _admin.CoreV1.CreateNamespacedEndpointsAsync(body: endpoints, namespaceParameter: @namespace, cancellationToken: cancellationToken);
        await MirrorEndpointsAsync(@namespace, serviceName, external, cancellationToken);
    }

    // In a cluster the EndpointSlice mirroring controller copies hand-made Endpoints of a selectorless Service into
    // an EndpointSlice. The demo plays that controller's part when the API server it talks to has none.
    private async Task MirrorEndpointsAsync(string @namespace, string serviceName, PodServer external, CancellationToken cancellationToken)
    {
        var existing = await _admin.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            namespaceParameter: @namespace, labelSelector: "kubernetes.io/service-name=" + serviceName, cancellationToken: cancellationToken);
        if (existing.Items.Count > 0)
        {
            return;
        }

        var mirrored = new V1EndpointSlice
        {
            ApiVersion = "discovery.k8s.io/v1",
            Kind = "EndpointSlice",
            Metadata = new V1ObjectMeta
            {
                Name = serviceName + "-m9q4t",
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/service-name"] = serviceName,
                    ["endpointslice.kubernetes.io/managed-by"] = "endpointslicemirroring-controller.k8s.io",
                },
            },
            AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = [external.Address.ToString()], Conditions = new V1EndpointConditions { Ready = true } }],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = external.Port, Protocol = "TCP" }],
        };
        await _admin.DiscoveryV1.CreateNamespacedEndpointSliceAsync(body: mirrored, namespaceParameter: @namespace, cancellationToken: cancellationToken);
    }

    /// <summary>Creates an ExternalName Service: a cluster-local alias for a DNS name outside the cluster.</summary>
    public async Task CreateExternalNameServiceAsync(string @namespace, string serviceName, string externalName, int port, CancellationToken cancellationToken)
    {
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = serviceName, NamespaceProperty = @namespace },
            Spec = new V1ServiceSpec
            {
                Type = "ExternalName",
                ExternalName = externalName,
                Ports = [new V1ServicePort { Name = "http", Port = port, Protocol = "TCP" }],
            },
        };
        await _admin.CoreV1.CreateNamespacedServiceAsync(body: service, namespaceParameter: @namespace, cancellationToken: cancellationToken);
    }

    /// <summary>Starts a server that is not a pod of any Service (an "external" resource), on a free port.</summary>
    public async Task<PodServer> StartExternalServerAsync(string name, IPAddress address, CancellationToken cancellationToken)
    {
        var server = await PodServer.StartAsync(name, address, 0, cancellationToken);
        _servers.Add(server);
        return server;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    private async Task<long> PublishSliceAsync(ServiceBackend backend, CancellationToken cancellationToken)
    {
        var changedAt = Stopwatch.GetTimestamp();
        var slice = await _admin.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(
            body: backend.BuildSlice(), name: backend.SliceName, namespaceParameter: backend.Namespace, cancellationToken: cancellationToken);
        backend.SliceResourceVersion = slice.Metadata.ResourceVersion;
        return changedAt;
    }

    // Pods of one Deployment share a container port, and an EndpointSlice lists one port set for all of its
    // endpoints: bind the first pod to a free port, the others to the same port on their own addresses, and try
    // again with another port in the unlikely case something else holds it on one of those addresses.
    private async Task<IReadOnlyList<PodServer>> StartPodsOnSharedPortAsync(IReadOnlyList<(string Name, string Address)> pods, CancellationToken cancellationToken)
    {
        const int Attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var started = new List<PodServer>();
            try
            {
                var port = 0;
                foreach (var (name, address) in pods)
                {
                    var server = await PodServer.StartAsync(name, IPAddress.Parse(address), port, cancellationToken);
                    started.Add(server);
                    port = server.Port;
                }

                _servers.AddRange(started);
                return started;
            }
            catch (IOException) when (attempt < Attempts)
            {
                foreach (var server in started)
                {
                    await server.DisposeAsync();
                }
            }
        }
    }
}
