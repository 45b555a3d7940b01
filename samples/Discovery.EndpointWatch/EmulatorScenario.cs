using System.Threading.Channels;
using Discovery.Testing;
using k8s;
using k8s.Models;

namespace Discovery.EndpointWatch;

/// <summary>
/// <c>--emulator</c> mode: the embedded Kubernetes API emulator with one sample Service, and a short script of
/// changes (a pod fails its probe, one is added, one is deleted, one recovers) so the watch has something to show.
/// Each change waits until the watch has printed the previous one, so the output is the same on every run.
/// </summary>
public sealed class EmulatorScenario : IAsyncDisposable
{
    /// <summary>Lines the scenario produces: the initial list and one per change.</summary>
    public const int LineCount = 6;

    private const int Port = 8080;
    private readonly KubernetesApiEmulator _emulator;
    private readonly IKubernetes _admin;
    private readonly string _namespace;
    private readonly string _service;
    private readonly Channel<ServiceEndpointSnapshot> _printed = Channel.CreateUnbounded<ServiceEndpointSnapshot>();
    private readonly Dictionary<string, (string Pod, bool Ready, bool Serving, bool Terminating)> _endpoints = new(StringComparer.Ordinal);
    private string? _resourceVersion;

    private EmulatorScenario(KubernetesApiEmulator emulator, string @namespace, string service)
    {
        _emulator = emulator;
        _admin = emulator.CreateClient();
        _namespace = @namespace;
        _service = service;
    }

    /// <summary>Starts the emulator and creates the Service with three ready endpoints.</summary>
    public static async Task<EmulatorScenario> StartAsync(string @namespace, string service, CancellationToken cancellationToken)
    {
        var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), cancellationToken);
        var scenario = new EmulatorScenario(emulator, @namespace, service);
        await scenario.CreateAsync(cancellationToken);
        return scenario;
    }

    /// <summary>A client for the application side.</summary>
    public IKubernetes CreateClient() => _emulator.CreateClient();

    /// <summary>Tells the scenario a snapshot has been printed.</summary>
    public void OnPrinted(ServiceEndpointSnapshot snapshot) => _printed.Writer.TryWrite(snapshot);

    /// <summary>Plays the changes, each after the previous one has been printed and <paramref name="interval"/> has passed.</summary>
    /// <exception cref="TimeoutException">The watch did not print a change within 10 seconds.</exception>
    public async Task PlayAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        await WaitForPrintedAsync(s => s.ReadyCount == 3, cancellationToken);

        await ChangeAsync(interval, "127.0.0.12", ready: false, serving: false, terminating: false, cancellationToken);
        await WaitForPrintedAsync(s => s.ReadyCount == 2, cancellationToken);

        await Task.Delay(interval, cancellationToken);
        _endpoints["127.0.0.14"] = (PodName(4), true, true, false);
        await PublishAsync(cancellationToken);
        await WaitForPrintedAsync(s => s.Endpoints.Any(e => e.Address == "127.0.0.14"), cancellationToken);

        await ChangeAsync(interval, "127.0.0.11", ready: false, serving: true, terminating: true, cancellationToken);
        await WaitForPrintedAsync(s => s.Endpoints.Any(e => e.Address == "127.0.0.11" && e.IsTerminating), cancellationToken);

        await Task.Delay(interval, cancellationToken);
        _endpoints.Remove("127.0.0.11");
        await PublishAsync(cancellationToken);
        await WaitForPrintedAsync(s => s.Endpoints.All(e => e.Address != "127.0.0.11"), cancellationToken);

        await ChangeAsync(interval, "127.0.0.12", ready: true, serving: true, terminating: false, cancellationToken);
        await WaitForPrintedAsync(s => s.Endpoints.Any(e => e.Address == "127.0.0.12" && e.IsReady), cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await _emulator.DisposeAsync();
    }

    private static string PodName(int ordinal) => ordinal switch
    {
        1 => "alpaca-prod-7c9f6-hx2lq",
        2 => "alpaca-prod-7c9f6-m4v8r",
        3 => "alpaca-prod-7c9f6-t9z5k",
        _ => "alpaca-prod-7c9f6-b3n7w",
    };

    private async Task CreateAsync(CancellationToken cancellationToken)
    {
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = _service, NamespaceProperty = _namespace },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = _service },
                Ports = [new V1ServicePort { Name = "http", Port = Port, TargetPort = Port, Protocol = "TCP" }],
            },
        };
        await _admin.CoreV1.CreateNamespacedServiceAsync(body: service, namespaceParameter: _namespace, cancellationToken: cancellationToken);
        for (var i = 1; i <= 3; i++)
        {
            _endpoints["127.0.0." + (10 + i)] = (PodName(i), true, true, false);
        }

        var slice = await _admin.DiscoveryV1.CreateNamespacedEndpointSliceAsync(body: BuildSlice(), namespaceParameter: _namespace, cancellationToken: cancellationToken);
        _resourceVersion = slice.Metadata.ResourceVersion;
    }

    private async Task ChangeAsync(TimeSpan interval, string address, bool ready, bool serving, bool terminating, CancellationToken cancellationToken)
    {
        await Task.Delay(interval, cancellationToken);
        _endpoints[address] = (_endpoints[address].Pod, ready, serving, terminating);
        await PublishAsync(cancellationToken);
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        var slice = await _admin.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(body: BuildSlice(), name: SliceName, namespaceParameter: _namespace, cancellationToken: cancellationToken);
        _resourceVersion = slice.Metadata.ResourceVersion;
    }

    private string SliceName => _service + "-x7k2p";

    private V1EndpointSlice BuildSlice() => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta
        {
            Name = SliceName,
            NamespaceProperty = _namespace,
            ResourceVersion = _resourceVersion,
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = _service },
        },
        AddressType = "IPv4",
        Endpoints = [.. _endpoints.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new V1Endpoint
        {
            Addresses = [e.Key],
            Conditions = new V1EndpointConditions { Ready = e.Value.Ready, Serving = e.Value.Serving, Terminating = e.Value.Terminating },
            TargetRef = new V1ObjectReference { Kind = "Pod", Name = e.Value.Pod, NamespaceProperty = _namespace },
        })],
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = Port, Protocol = "TCP" }],
    };

    private async Task WaitForPrintedAsync(Func<ServiceEndpointSnapshot, bool> condition, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                var snapshot = await _printed.Reader.ReadAsync(timeout.Token);
                if (condition(snapshot))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("The watch did not show the emulator's change within 10 seconds.");
        }
    }
}
