using System.Collections.Concurrent;
using System.Diagnostics;
using Discovery.Http;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>
/// The product as an app uses it, wired by hand so the test can see inside: the resolver over a stock client, then
/// <c>HttpClient → DiscoveryHttpHandler → AttemptRecorder → SocketsHttpHandler</c>.
/// </summary>
internal sealed class DiscoveryStack : IAsyncDisposable
{
    private DiscoveryStack(KubernetesServiceEndpointResolver resolver, HttpClient client, AttemptRecorder attempts, IKubernetes kubernetes)
    {
        Resolver = resolver;
        Client = client;
        Attempts = attempts;
        Kubernetes = kubernetes;
    }

    public KubernetesServiceEndpointResolver Resolver { get; }

    public HttpClient Client { get; }

    public AttemptRecorder Attempts { get; }

    public IKubernetes Kubernetes { get; }

    public static DiscoveryStack Create(
        IKubernetes kubernetes,
        Action<KubernetesDiscoveryOptions>? configure = null,
        Action<DiscoveryHttpClientOptions>? configureHttp = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null)
    {
        // A first sync on a loaded machine can take longer than the default 10 s wait; no scenario measures that wait.
        var options = new KubernetesDiscoveryOptions { Namespace = "default", InitialSyncTimeout = TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        var resolver = new KubernetesServiceEndpointResolver(kubernetes, options, timeProvider, loggerFactory ?? NullLoggerFactory.Instance);
        var httpOptions = new DiscoveryHttpClientOptions();
        configureHttp?.Invoke(httpOptions);
        var attempts = new AttemptRecorder(resolver)
        {
            InnerHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(3),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                UseProxy = false,
                ConnectCallback = connect,
            },
        };
        var handler = new DiscoveryHttpHandler(resolver, ServiceHostParser.FromOptions(options), httpOptions, loggerFactory, timeProvider)
        {
            InnerHandler = attempts,
        };
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
        return new DiscoveryStack(resolver, client, attempts, kubernetes);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Resolver.DisposeAsync();
        Kubernetes.Dispose();
    }
}

/// <summary>One attempt the discovery handler made: where it went, and the snapshot version current at that moment.</summary>
internal readonly record struct Attempt(long RequestId, string Authority, long Timestamp, long VersionAtAttempt, bool Failed);

/// <summary>
/// Sits between the discovery handler and the socket handler: sees every attempt with its rewritten URI. A request
/// carries its id and service in <see cref="HttpRequestMessage.Options"/>.
/// </summary>
internal sealed class AttemptRecorder(IServiceEndpointResolver resolver) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<long> RequestId = new("reliability.id");
    public static readonly HttpRequestOptionsKey<ServiceKey> Service = new("reliability.service");

    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private long _total;

    /// <summary>Whether to keep every attempt (the churn check needs them; long runs of other scenarios do not).</summary>
    public bool Keep { get; set; }

    public long Total => Interlocked.Read(ref _total);

    public IReadOnlyCollection<Attempt> All => _attempts;

    public Action<Attempt>? OnAttempt { get; set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.TryGetValue(RequestId, out var id);
        var version = request.Options.TryGetValue(Service, out var service) && resolver.TryGetSnapshot(service, out var snapshot) ? snapshot.Version : -1;
        var authority = request.RequestUri!.Authority;
        var timestamp = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _total);
        var failed = true;
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            failed = false;
            return response;
        }
        finally
        {
            var attempt = new Attempt(id, authority, timestamp, version, failed);
            if (Keep)
            {
                _attempts.Enqueue(attempt);
            }

            OnAttempt?.Invoke(attempt);
        }
    }
}
