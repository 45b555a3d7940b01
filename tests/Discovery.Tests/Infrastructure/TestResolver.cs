using System.Diagnostics.Metrics;
using Discovery.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Tests.Infrastructure;

/// <summary>A resolver over a <see cref="FakeKubernetesApi"/> and fake time, with short timeouts.</summary>
internal sealed class TestResolver : IAsyncDisposable
{
    public TestResolver(Action<KubernetesDiscoveryOptions>? configure = null, bool isInCluster = true, ILoggerFactory? loggerFactory = null, bool seedFixtures = true, IMeterFactory? meterFactory = null, Func<double>? random = null)
    {
        Options = new KubernetesDiscoveryOptions
        {
            Namespace = Fixtures.Namespace,
            InitialSyncTimeout = TimeSpan.FromSeconds(5),
            WatchTimeout = TimeSpan.FromSeconds(60),
            WatchGracePeriod = TimeSpan.FromSeconds(5),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
            IdleTimeout = TimeSpan.FromMinutes(1),
            StaleAfter = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(Options);
        if (seedFixtures)
        {
            foreach (var item in Fixtures.All())
            {
                Api.Apply(item);
            }
        }

        Resolver = new KubernetesServiceEndpointResolver(() => Api, Options, Time, loggerFactory, meterFactory, isInCluster, null, random);
    }

    public FakeKubernetesApi Api { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 20, 0, 0, TimeSpan.Zero));

    public KubernetesDiscoveryOptions Options { get; }

    public KubernetesServiceEndpointResolver Resolver { get; }

    public static ServiceKey Key(string name) => new(Fixtures.Namespace, name);

    public ValueTask DisposeAsync() => Resolver.DisposeAsync();
}
