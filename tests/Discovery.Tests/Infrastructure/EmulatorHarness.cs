using Discovery.Testing;
using k8s;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Tests.Infrastructure;

/// <summary>An emulator loaded with the recorded setup, and a resolver talking to it through the stock client on fake time.</summary>
internal sealed class EmulatorHarness : IAsyncDisposable
{
    private EmulatorHarness(KubernetesApiEmulator emulator, IKubernetes client, KubernetesDiscoveryOptions options, bool realTime)
    {
        Emulator = emulator;
        Client = client;
        Options = options;
        Resolver = new KubernetesServiceEndpointResolver(client, options, realTime ? TimeProvider.System : Time, Logs.Factory);
    }

    public KubernetesApiEmulator Emulator { get; }

    public TestLogs Logs { get; } = new();

    public IKubernetes Client { get; }

    public KubernetesDiscoveryOptions Options { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 20, 0, 0, TimeSpan.Zero));

    public KubernetesServiceEndpointResolver Resolver { get; }

    /// <param name="configure">Adjusts the options.</param>
    /// <param name="realTime">Runs the resolver on the system clock, for tests of the server's own (real-time) watch timeouts.</param>
    /// <param name="bearerToken">The token the resolver's client sends (a user added to <c>Emulator.Access</c>); the emulator's default user when null.</param>
    public static async Task<EmulatorHarness> StartAsync(Action<KubernetesDiscoveryOptions>? configure = null, bool realTime = false, string? bearerToken = null)
    {
        var emulator = await KubernetesApiEmulator.StartAsync();
        EmulatorFixtures.ApplyAll(emulator);
        var options = new KubernetesDiscoveryOptions
        {
            Namespace = Fixtures.Namespace,
            // Only real time with realTime: true, where a first sync on a loaded machine can take seconds.
            InitialSyncTimeout = TimeSpan.FromSeconds(30),
            // On the fake clock, which tests move up to 100 times faster than real time (Eventually's 500 ms per 5 ms) while
            // the resolver lists over real loopback HTTP: with the default 30 s a list slower than 0.3 s of real time (a
            // loaded machine) timed out, again and again. The longest timeout allowed; a test of the timeout sets its own.
            RequestTimeout = TimeSpan.FromMinutes(10),
            WatchTimeout = TimeSpan.FromSeconds(60),
            WatchGracePeriod = TimeSpan.FromSeconds(5),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            StaleAfter = TimeSpan.FromSeconds(20),
        };
        configure?.Invoke(options);
        return new EmulatorHarness(emulator, emulator.CreateClient(bearerToken), options, realTime);
    }

    public int Lists(string resource) => Emulator.Requests.Count(r => !r.IsWatch && r.Method == "GET" && r.Path.EndsWith("/" + resource, StringComparison.Ordinal));

    public int Watches(string resource) => Emulator.Requests.Count(r => r.IsWatch && r.Path.EndsWith("/" + resource, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await Resolver.DisposeAsync();
        Client.Dispose();
        await Emulator.DisposeAsync();
        Logs.Dispose();
    }
}
