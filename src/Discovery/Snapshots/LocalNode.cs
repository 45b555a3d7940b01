using k8s.Models;

namespace Discovery;

/// <summary>
/// Where this application runs, as kube-proxy on its node would see it: the node name (for <c>internalTrafficPolicy: Local</c>
/// and same-node hints) and the zone (for zone hints and <c>trafficDistribution</c>). One per resolver; thread-safe.
/// </summary>
/// <remarks>
/// The node name is configured (<c>Discovery:NodeName</c>) or read from the <c>NODE_NAME</c> environment variable. The zone is
/// configured (<c>Discovery:Zone</c>) or read once from the node's <c>topology.kubernetes.io/zone</c> label: a refusal (403) or a
/// missing node is logged once and the zone stays unknown; other failures are retried on a later use, at most once a minute.
/// </remarks>
public sealed class LocalNode
{
    /// <summary>The node label that names a node's zone.</summary>
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    private static readonly TimeSpan RetryPeriod = TimeSpan.FromMinutes(1);

    private readonly Func<string, CancellationToken, Task<V1Node>>? _readNode;
    private readonly TimeProvider _timeProvider;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private readonly TimeSpan _requestTimeout;
    private readonly object _gate = new();
    private volatile string? _zone;

    // Set once the lookup has an answer that will not change (found, refused, no label): reading Zone then costs two reads.
    private volatile bool _lookupFinal;
    private Task<string?>? _lookup;
    private long _lastFailure;
    private bool _loggedFailure;

    internal LocalNode(string? nodeName, string? zone, Func<string, CancellationToken, Task<V1Node>>? readNode, TimeProvider timeProvider, Microsoft.Extensions.Logging.ILogger logger, TimeSpan requestTimeout)
    {
        NodeName = string.IsNullOrWhiteSpace(nodeName) ? null : nodeName.Trim();
        _zone = string.IsNullOrWhiteSpace(zone) ? null : zone.Trim();
        IsZoneConfigured = _zone is not null;
        _readNode = readNode;
        _timeProvider = timeProvider;
        _logger = logger;
        _requestTimeout = requestTimeout;
        if (_zone is not null || NodeName is null || readNode is null)
        {
            _lookup = Task.FromResult(_zone);
            _lookupFinal = true;
        }
    }

    /// <summary>The node this application runs on, or <see langword="null"/> when neither configured nor in <c>NODE_NAME</c>.</summary>
    public string? NodeName { get; }

    /// <summary>Whether <see cref="Zone"/> was configured rather than read from the node.</summary>
    public bool IsZoneConfigured { get; }

    /// <summary>
    /// The zone this application runs in, or <see langword="null"/> while unknown. Reading it starts the node lookup if it has
    /// not run (or failed transiently over a minute ago); the value appears once the lookup completes.
    /// </summary>
    public string? Zone
    {
        get
        {
            var zone = _zone;
            if (zone is null && !_lookupFinal)
            {
                StartLookup();
            }

            return zone;
        }
    }

    /// <summary>Waits for the zone lookup (started if needed) and returns the zone, or <see langword="null"/> when it cannot be known.</summary>
    public Task<string?> GetZoneAsync(CancellationToken cancellationToken = default)
        => _zone is { } zone ? Task.FromResult<string?>(zone) : StartLookup().WaitAsync(cancellationToken);

    private Task<string?> StartLookup()
    {
        // Without the lock while a lookup runs or a failure is recent: requests read this while the zone is unknown.
        var running = Volatile.Read(ref _lookup);
        var lastFailure = Interlocked.Read(ref _lastFailure);
        if (running is not null && (!running.IsCompleted || lastFailure == 0 || _timeProvider.GetElapsedTime(lastFailure) < RetryPeriod))
        {
            return running;
        }

        lock (_gate)
        {
            if (_lookup is null || (_lookup.IsCompleted && !_lookupFinal && _lastFailure != 0 && _timeProvider.GetElapsedTime(_lastFailure) >= RetryPeriod))
            {
                Interlocked.Exchange(ref _lastFailure, 0);
                Volatile.Write(ref _lookup, LookUpAsync());
            }

            return _lookup;
        }
    }

    private async Task<string?> LookUpAsync()
    {
        var node = NodeName!;
        try
        {
            using var timeout = new CancellationTokenSource(_requestTimeout, _timeProvider);
            var found = await _readNode!(node, timeout.Token).ConfigureAwait(false);
            if (found.Metadata?.Labels is { } labels && labels.TryGetValue(ZoneLabel, out var zone) && !string.IsNullOrWhiteSpace(zone))
            {
                _zone = zone;
                _lookupFinal = true;
                Internal.TopologyLog.ZoneFound(_logger, node, zone);
                return zone;
            }

            _lookupFinal = true;
            Internal.TopologyLog.NodeHasNoZone(_logger, node);
            return null;
        }
        catch (Internal.KubernetesStatusException e) when (e.IsForbidden || e.IsNotFound || e.StatusCode == 401)
        {
            // Permanent for this process: asking again on every use would only repeat the refusal.
            _lookupFinal = true;
            Internal.TopologyLog.NodeForbidden(_logger, node, e.StatusCode);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            lock (_gate)
            {
                Interlocked.Exchange(ref _lastFailure, _timeProvider.GetTimestamp());
                if (!_loggedFailure)
                {
                    _loggedFailure = true;
                    Internal.TopologyLog.NodeUnavailable(_logger, node, e.Message);
                }
            }

            return null;
        }
    }
}
