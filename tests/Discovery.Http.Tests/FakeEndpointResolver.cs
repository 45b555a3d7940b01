using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;

namespace Discovery.Http.Tests;

/// <summary>An in-memory <see cref="IServiceEndpointResolver"/>: the tests publish snapshots directly.</summary>
public sealed class FakeEndpointResolver : IServiceEndpointResolver
{
    private readonly ConcurrentDictionary<ServiceKey, ServiceEndpointSnapshot> _snapshots = new();
    private readonly ConcurrentDictionary<ServiceKey, Exception> _errors = new();
    private readonly ConcurrentDictionary<ServiceKey, bool> _synced = new();
    private long _version;
    private int _asyncCalls;

    public int AsyncCalls => Volatile.Read(ref _asyncCalls);

    /// <summary>Whether <see cref="TryGetSnapshot"/> fails until <see cref="GetSnapshotAsync"/> ran once for the Service, as before a watcher's first list.</summary>
    public bool SimulateInitialSync { get; set; }

    public static ServiceKey Key(string name, string ns = "default") => new(ns, name);

    public static KubernetesServiceInfo ServiceInfo(params ServicePortInfo[] ports)
        => new("ClusterIP", "10.96.0.10", true, null, ports.Length == 0 ? [new ServicePortInfo("http", 80, "http", "TCP", null, null)] : [.. ports], [], "1");

    public static ServiceEndpoint Endpoint(
        Backend backend,
        bool ready = true,
        bool terminating = false,
        string? zone = null,
        string[]? hints = null,
        string portName = "http",
        string? appProtocol = null)
        => Endpoint(backend.Address, backend.Port, backend.Name, ready, terminating, zone, hints, portName, appProtocol);

    public static ServiceEndpoint Endpoint(
        string address,
        int port,
        string? pod = null,
        bool ready = true,
        bool terminating = false,
        string? zone = null,
        string[]? hints = null,
        string portName = "http",
        string? appProtocol = null)
        => new(
            address,
            AddressFamily.InterNetwork,
            [new EndpointPort(portName, port, "TCP", appProtocol)],
            isReady: ready,
            isServing: ready || terminating,
            isTerminating: terminating,
            zone: zone,
            podName: pod,
            zoneHints: hints is null ? default : [.. hints]);

    public ServiceEndpointSnapshot Publish(ServiceKey service, params ServiceEndpoint[] endpoints)
        => Publish(service, ServiceInfo(), endpoints);

    public ServiceEndpointSnapshot Publish(ServiceKey service, KubernetesServiceInfo? info, params ServiceEndpoint[] endpoints)
    {
        var snapshot = new ServiceEndpointSnapshot(
            service, true, info, EndpointSourceKind.EndpointSlices, [.. endpoints], Interlocked.Increment(ref _version), null, DateTimeOffset.UtcNow);
        _snapshots[service] = snapshot;
        return snapshot;
    }

    public void PublishMissing(ServiceKey service)
        => _snapshots[service] = new ServiceEndpointSnapshot(
            service, false, null, EndpointSourceKind.EndpointSlices, ImmutableArray<ServiceEndpoint>.Empty, Interlocked.Increment(ref _version), null, DateTimeOffset.UtcNow);

    public void Fail(ServiceKey service, Exception error) => _errors[service] = error;

    public bool TryGetSnapshot(ServiceKey service, [NotNullWhen(true)] out ServiceEndpointSnapshot? snapshot)
    {
        if (SimulateInitialSync && !_synced.ContainsKey(service))
        {
            snapshot = null;
            return false;
        }

        return _snapshots.TryGetValue(service, out snapshot);
    }

    public ValueTask<ServiceEndpointSnapshot> GetSnapshotAsync(ServiceKey service, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _asyncCalls);
        _synced[service] = true;
        if (_errors.TryGetValue(service, out var error))
        {
            return ValueTask.FromException<ServiceEndpointSnapshot>(error);
        }

        return ValueTask.FromResult(_snapshots.GetOrAdd(
            service,
            static key => new ServiceEndpointSnapshot(key, false, null, EndpointSourceKind.EndpointSlices, [], 0, null, DateTimeOffset.UtcNow)));
    }

    public async IAsyncEnumerable<ServiceEndpointSnapshot> WatchAsync(ServiceKey service, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return await GetSnapshotAsync(service, cancellationToken);
    }

    public IDisposable Subscribe(ServiceKey service, Action<ServiceEndpointSnapshot> onChange) => new CancellationTokenSource();
}
