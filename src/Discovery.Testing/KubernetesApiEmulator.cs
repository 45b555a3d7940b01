using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Discovery.Testing.Http;
using Discovery.Testing.Store;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Testing;

/// <summary>
/// An in-process Kubernetes API server for tests: namespaces, services, endpoints, endpointslices
/// and pods over the real wire format on 127.0.0.1, so the stock KubernetesClient and kubectl work
/// against it. Objects can be written through REST or the programmatic store API here; faults
/// and access rules are set through <see cref="Faults"/> and <see cref="Access"/>.
/// </summary>
public sealed class KubernetesApiEmulator : IAsyncDisposable
{
    private readonly KubernetesApiEmulatorOptions _options;
    private readonly ObjectStore _store;
    private readonly ObjectPipeline _pipeline;
    private readonly RequestLog _requests;
    private readonly ObjectWriter _writer;
    private readonly EmulatorServer _server;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly ILogger _logger;
    private bool _disposed;

    private KubernetesApiEmulator(KubernetesApiEmulatorOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<KubernetesApiEmulator>() ?? NullLogger<KubernetesApiEmulator>.Instance;
        _store = new ObjectStore(options.RetainedEvents);
        _pipeline = new ObjectPipeline(options.TimeProvider, options.AllowLoopbackAddresses);
        _requests = new RequestLog(options.RecordedRequestLimit);
        Access = new EmulatorAccessRules(options.UserName, options.RequiredBearerToken);
        Faults = new EmulatorFaults(_store, StartOutageAsync, EndOutageAsync);
        _writer = new ObjectWriter(_store, _pipeline);
        var handler = new ApiRequestHandler(_store, _writer, Faults, Access, options, _requests, _logger, _stopping.Token);
        _server = new EmulatorServer(handler.HandleAsync, options.LoggerFactory);
    }

    /// <summary>The base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The latest resourceVersion handed out (lists report this).</summary>
    public long CurrentResourceVersion => _store.CurrentRevision;

    /// <summary>Watches currently streaming.</summary>
    public int OpenWatchCount => _store.OpenWatchCount;

    /// <summary>Fault injection.</summary>
    public EmulatorFaults Faults { get; }

    /// <summary>Bearer-token authentication and 403 rules.</summary>
    public EmulatorAccessRules Access { get; }

    /// <summary>The most recent requests received, oldest first (bounded by <see cref="KubernetesApiEmulatorOptions.RecordedRequestLimit"/>).</summary>
    public IReadOnlyList<EmulatorRequest> Requests => _requests.Snapshot();

    /// <summary>How many requests were received in total.</summary>
    public long RequestCount => _requests.Total;

    /// <summary>Starts an emulator listening on 127.0.0.1.</summary>
    public static async Task<KubernetesApiEmulator> StartAsync(KubernetesApiEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KubernetesApiEmulatorOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetainedEvents, 1);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        var emulator = new KubernetesApiEmulator(options);
        try
        {
            if (options.CreateDefaultNamespace)
            {
                emulator.Apply(new V1Namespace { Metadata = new V1ObjectMeta { Name = "default" } });
            }

            await emulator._server.StartAsync(options.Port, cancellationToken).ConfigureAwait(false);
            emulator.BaseAddress = new Uri($"http://127.0.0.1:{emulator._server.Port.ToString(CultureInfo.InvariantCulture)}/");
            EmulatorLog.Listening(emulator._logger, emulator.BaseAddress);
            return emulator;
        }
        catch
        {
            await emulator.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A client configuration for the emulator; the token defaults to <see cref="EmulatorAccessRules.RequiredBearerToken"/>.</summary>
    public KubernetesClientConfiguration CreateClientConfiguration(string? bearerToken = null) => new()
    {
        Host = BaseAddress.ToString().TrimEnd('/'),
        AccessToken = bearerToken ?? Access.RequiredBearerToken,
        Namespace = "default",
    };

    /// <summary>A stock <see cref="Kubernetes"/> client pointed at the emulator.</summary>
    public IKubernetes CreateClient(string? bearerToken = null) => new Kubernetes(CreateClientConfiguration(bearerToken));

    /// <summary>Writes a kubeconfig for kubectl (context <c>emulator</c>, namespace <c>default</c>) and returns its path.</summary>
    public string WriteKubeconfig(string path, string? bearerToken = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var token = bearerToken ?? Access.RequiredBearerToken;
        var builder = new StringBuilder()
            .Append("apiVersion: v1\n")
            .Append("kind: Config\n")
            .Append("clusters:\n")
            .Append("- name: emulator\n")
            .Append("  cluster:\n")
            .Append(CultureInfo.InvariantCulture, $"    server: {BaseAddress.ToString().TrimEnd('/')}\n")
            .Append("contexts:\n")
            .Append("- name: emulator\n")
            .Append("  context:\n")
            .Append("    cluster: emulator\n")
            .Append("    user: emulator\n")
            .Append("    namespace: default\n")
            .Append("current-context: emulator\n")
            .Append("users:\n")
            .Append("- name: emulator\n");
        builder.Append(token is null ? "  user: {}\n" : $"  user:\n    token: \"{token}\"\n");
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(full, builder.ToString());
        return full;
    }

    /// <summary>
    /// Creates or replaces an object, stored exactly as a REST create/replace would store it
    /// (resourceVersion, uid, creationTimestamp, generation, managedFields, defaults, validation),
    /// and emits the watch event. Unlike REST, status is kept as given, the resourceVersion is
    /// not checked, and a missing namespace is created. Returns the stored object.
    /// </summary>
    /// <exception cref="ArgumentException">The object is invalid (the message is the server's 422/400 message).</exception>
    public T Apply<T>(T obj)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(obj);
        ThrowIfDisposed();
        var type = ResourceTypes.ForModel(typeof(T));
        try
        {
            var decoded = ObjectPipeline.FromModel(type, obj);
            var metadata = decoded["metadata"] as JsonObject ?? [];
            var @namespace = type.Namespaced ? metadata["namespace"]?.GetValue<string>() is { Length: > 0 } ns ? ns : "default" : "";
            if (type.Namespaced)
            {
                EnsureNamespace(@namespace);
            }

            var name = metadata["name"]?.GetValue<string>();
            StoredObject stored;
            if (string.IsNullOrEmpty(name))
            {
                stored = _writer.Create(type, decoded, @namespace, _options.FieldManager, keepStatus: true);
            }
            else
            {
                stored = _writer.Update(type, decoded, @namespace, name, _options.FieldManager, statusOnly: false, checkResourceVersion: false, allowCreate: true).Stored;
            }

            return ToModel<T>(stored);
        }
        catch (ApiException e)
        {
            throw new ArgumentException(e.Message, nameof(obj), e);
        }
    }

    /// <summary>Deletes an object (a namespace with its contents) and emits DELETED; false if it did not exist.</summary>
    public bool Delete<T>(string @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        var type = ResourceTypes.ForModel(typeof(T));
        return _writer.Delete(type, type.Namespaced ? @namespace ?? "" : "", name) is not null;
    }

    /// <summary>The stored object, or null. Pass any namespace (e.g. "") for cluster-scoped kinds.</summary>
    public T? Get<T>(string @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var type = ResourceTypes.ForModel(typeof(T));
        var stored = _store.Get(type, type.Namespaced ? @namespace ?? "" : "", name);
        return stored is null ? null : ToModel<T>(stored);
    }

    /// <summary>All stored objects of a kind, in one namespace or (null) all, sorted by namespace and name.</summary>
    public IReadOnlyList<T> List<T>(string? @namespace = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var type = ResourceTypes.ForModel(typeof(T));
        return [.. _store.List(type, @namespace).Items.Select(ToModel<T>)];
    }

    /// <summary>
    /// Changes the conditions of the endpoint with <paramref name="address"/> in an EndpointSlice
    /// (null removes a condition, which the API reads as ready/serving true, terminating false)
    /// and emits MODIFIED.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No such slice, or no endpoint with that address in it.</exception>
    public void SetEndpointConditions(string @namespace, string sliceName, string address, bool? ready, bool? serving = null, bool? terminating = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(sliceName);
        ArgumentException.ThrowIfNullOrEmpty(address);
        ThrowIfDisposed();
        var type = ResourceTypes.EndpointSlices;
        var conditions = new JsonObject();
        if (ready is not null)
        {
            conditions["ready"] = ready.Value;
        }

        if (serving is not null)
        {
            conditions["serving"] = serving.Value;
        }

        if (terminating is not null)
        {
            conditions["terminating"] = terminating.Value;
        }

        _store.Write(type, @namespace, sliceName, (existing, revision) =>
        {
            if (existing is null)
            {
                throw new KeyNotFoundException($"EndpointSlice {@namespace}/{sliceName} does not exist.");
            }

            var node = (JsonObject)existing.Node.DeepClone();
            var endpoint = (node["endpoints"] as JsonArray)?.OfType<JsonObject>()
                .FirstOrDefault(e => (e["addresses"] as JsonArray)?.Any(a => a?.GetValue<string>() == address) == true)
                ?? throw new KeyNotFoundException($"EndpointSlice {@namespace}/{sliceName} has no endpoint with address {address}.");
            if (JsonNode.DeepEquals(endpoint["conditions"], conditions))
            {
                return WriteDecision.Unchanged();
            }

            endpoint["conditions"] = conditions;
            return WriteDecision.Store(_pipeline.Restamp(existing, node, _options.FieldManager, revision));
        });
    }

    /// <summary>
    /// Sets up a Service with one port and its endpoints in one call: the Service (selector
    /// <c>app=&lt;name&gt;</c>), an EndpointSlice <c>&lt;name&gt;-emulated</c> with every address ready,
    /// and, when <paramref name="withEndpoints"/>, the matching core/v1 Endpoints. Returns the slice.
    /// </summary>
    public V1EndpointSlice ApplyServiceWithEndpoints(string @namespace, string serviceName, int port, IEnumerable<string> readyAddresses, string? portName = "http", bool withEndpoints = true)
    {
        ArgumentNullException.ThrowIfNull(readyAddresses);
        var addresses = readyAddresses.ToList();
        Apply(EmulatorObjects.Service(@namespace, serviceName, EmulatorObjects.ServicePort(port, portName)));
        if (withEndpoints)
        {
            Apply(EmulatorObjects.Endpoints(@namespace, serviceName, addresses, null, EmulatorObjects.EndpointsPort(port, portName)));
        }

        var addressType = addresses.Count > 0 && addresses.All(a => a.Contains(':', StringComparison.Ordinal)) ? "IPv6" : "IPv4";
        return Apply(EmulatorObjects.EndpointSlice(@namespace, serviceName, serviceName + "-emulated", addressType, addresses.Select(a => EmulatorObjects.Endpoint(a)), EmulatorObjects.SlicePort(port, portName)));
    }

    /// <summary>Advances the global resourceVersion without changing any object, as leases and other kinds do on a real server.</summary>
    public long AdvanceResourceVersion() => _store.BumpRevision();

    /// <summary>Forgets all retained events (same as <see cref="EmulatorFaults.CompactNow"/>).</summary>
    public void CompactNow() => _store.Compact();

    /// <summary>Changes how many events are retained for resuming watches.</summary>
    public void SetRetainedEvents(int retainedEvents)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retainedEvents, 1);
        _store.SetRetainedEvents(retainedEvents);
    }

    /// <summary>Completes with the first received request (past or future) matching <paramref name="predicate"/>.</summary>
    /// <exception cref="TimeoutException">None arrived within <paramref name="timeout"/>.</exception>
    public Task<EmulatorRequest> WaitForRequestAsync(Func<EmulatorRequest, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return _requests.WaitForAsync(predicate, timeout, TimeProvider.System, cancellationToken);
    }

    /// <summary>Completes once at least <paramref name="count"/> watches are streaming (their headers sent).</summary>
    public async Task WaitForOpenWatchesAsync(int count, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            // Take the change signal before reading the count: a watch opening in between then completes this signal
            // instead of one created after it, which would never fire.
            var changed = _store.WatchCountChanged(cancellationToken);
            if (OpenWatchCount >= count)
            {
                return;
            }

            await changed.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Completes once every open watch has written all events queued for it so far (bounded by
    /// the token): lets a test with a fake clock advance time only after the streams caught up.
    /// </summary>
    public async Task WaitForWatchesIdleAsync(CancellationToken cancellationToken = default)
    {
        while (!_store.AllWatchesIdle)
        {
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Watch lines queued and not yet written (e.g. while watches are stalled).</summary>
    internal int PendingWatchItems => _store.PendingWatchItems;

    /// <summary>Forgets the recorded requests.</summary>
    public void ClearRequests() => _requests.Clear();

    /// <summary>Stops the server and cuts every watch.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        Faults.ResumeWatches();
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }

        _stopping.Dispose();
        _lifecycle.Dispose();
    }

    private async Task StartOutageAsync(OutageMode mode)
    {
        EmulatorLog.OutageStarted(_logger, mode);
        if (mode != OutageMode.RefuseConnections)
        {
            return;
        }

        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await _server.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task EndOutageAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (!_server.IsRunning)
            {
                await _server.StartAsync(_server.Port, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }

        EmulatorLog.OutageEnded(_logger);
    }

    private void EnsureNamespace(string @namespace)
    {
        if (_store.Get(ResourceTypes.Namespaces, "", @namespace) is not null)
        {
            return;
        }

        if (!_options.AutoCreateNamespaces)
        {
            throw StatusBodies.NamespaceNotFound(@namespace);
        }

        var node = ObjectPipeline.Decode(ResourceTypes.Namespaces, new JsonObject { ["metadata"] = new JsonObject { ["name"] = @namespace } });
        try
        {
            _writer.Create(ResourceTypes.Namespaces, node, "", _options.FieldManager, keepStatus: false);
        }
        catch (ApiException e) when (e.StatusCode == 409)
        {
            // Created concurrently.
        }
    }

    private static T ToModel<T>(StoredObject stored) => KubernetesJson.Deserialize<T>(Encoding.UTF8.GetString(stored.Json));

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
