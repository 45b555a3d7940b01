using System.Collections.Immutable;
using Discovery.Yarp;
using Microsoft.Extensions.Time.Testing;
using Yarp.ReverseProxy.Configuration;

namespace Discovery.Integrations.Tests;

/// <summary>The YARP destination resolver with YARP proxying real requests in Kestrel to real Kestrel pods.</summary>
public class YarpResolverTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Dictionary<string, DestinationConfig> Destination(string address) => new() { ["alpaca"] = new DestinationConfig { Address = address } };

    private static string Id(Pod pod) => $"alpaca/{pod.Address}:{pod.Port}";

    [Fact]
    public async Task A_Service_destination_expands_to_one_destination_per_ready_pod_and_YARP_proxies_to_them_with_the_Service_name_as_Host()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));

        Assert.Equal(new[] { Id(a), Id(b) }.Order(StringComparer.Ordinal), proxy.Destinations().Keys.Order(StringComparer.Ordinal));
        var answers = new HashSet<string>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await proxy.Client.GetStringAsync("/", Token));
        }

        Assert.Equal(["alpaca-a", "alpaca-b"], answers.Order());
        Assert.Equal("alpaca-prod", a.LastHost);
        Assert.Equal("alpaca-a", proxy.Destinations()[Id(a)].Model.Config.Metadata!["kubernetes.pod"]);
    }

    [Fact]
    public async Task A_readiness_flip_removes_the_pod_and_a_new_pod_is_added_while_the_others_keep_their_destination_state()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));
        var stateOfA = proxy.Destinations()[Id(a)];

        cluster.SetReady("alpaca-prod", b, ready: false);
        await Eventually.True(() => proxy.AvailableIds().SequenceEqual([Id(a)]), "YARP drops pod b");
        var before = b.Requests;
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("alpaca-a", await proxy.Client.GetStringAsync("/", Token));
        }

        Assert.Equal(before, b.Requests);

        var c = await cluster.StartPodAsync("alpaca-c");
        cluster.ApplyPod("alpaca-prod", c);
        await Eventually.True(() => proxy.AvailableIds().Contains(Id(c)), "YARP adds pod c");
        await Eventually.True(async () => await proxy.Client.GetStringAsync("/", Token) == "alpaca-c", "pod c gets calls");

        // Same ID, same state object: YARP's health and in-flight tracking of pod a survived both updates.
        Assert.Same(stateOfA, proxy.Destinations()[Id(a)]);
    }

    [Fact]
    public async Task An_API_outage_keeps_the_last_destinations()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));

        await cluster.Emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);
        cluster.Emulator.Faults.DropWatches();
        var answers = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await proxy.Client.GetStringAsync("/", Token));
        }

        Assert.Equal(["alpaca-a", "alpaca-b"], answers.Order());
        Assert.Equal(2, proxy.Destinations().Count);
        await cluster.Emulator.Faults.EndOutageAsync();
    }

    [Fact]
    public async Task An_unknown_Service_gives_no_destinations_and_a_503_until_it_appears_and_other_hosts_pass_through()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        await using var proxy = await YarpProxy.StartAsync(cluster, new Dictionary<string, DestinationConfig>
        {
            ["alpaca"] = new() { Address = "http://alpaca-prod" },
            ["static"] = new() { Address = "http://127.0.0.1:1" },
        });

        Assert.Equal(["static"], proxy.Destinations().Keys);

        cluster.ApplyService("alpaca-prod", [a]);
        await Eventually.True(() => proxy.Destinations().ContainsKey(Id(a)), "the Service appearing fires the token");
    }

    [Fact]
    public async Task No_ready_pod_gives_no_destinations_and_YARP_answers_503()
    {
        await using var cluster = await Cluster.StartAsync();
        cluster.ApplyService("alpaca-prod", []);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));

        Assert.Empty(proxy.Destinations());
        var response = await proxy.Client.GetAsync("/", Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task A_malformed_Service_name_fails_YARP_startup_with_the_typed_error()
    {
        await using var cluster = await Cluster.StartAsync();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => YarpProxy.StartAsync(cluster, Destination("http://_grpc.-bad-")));
        var typed = Assert.Single(Chain(error).OfType<InvalidServiceNameException>());
        Assert.Contains("-bad-", typed.Message, StringComparison.Ordinal);
        Assert.Contains(Chain(error), e => e.Message.Contains("cluster " + YarpProxy.ClusterId, StringComparison.Ordinal));
    }

    [Fact]
    public void Rapid_changes_are_coalesced_into_one_reload_per_interval_and_the_first_change_is_passed_on_at_once()
    {
        var time = new FakeTimeProvider();
        var signals = 0;
        using var signal = new DestinationChangeSignal(time, TimeSpan.FromMilliseconds(250), _ => signals++, dispatch: work => work());
        var first = signal.Current;

        signal.OnChanged(Snapshot("alpaca-prod"));
        Assert.True(first.HasChanged);
        Assert.Equal(1, signals);

        var second = signal.Current;
        for (var i = 0; i < 20; i++)
        {
            signal.OnChanged(Snapshot(i % 2 == 0 ? "alpaca-prod" : "bandicoot-prod"));
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.False(second.HasChanged);
        Assert.Equal(1, signals);
        time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.True(second.HasChanged);
        Assert.Equal(2, signals);

        // A quiet period later, the next change goes at once again.
        time.Advance(TimeSpan.FromSeconds(1));
        var third = signal.Current;
        signal.OnChanged(Snapshot("alpaca-prod"));
        Assert.True(third.HasChanged);
        Assert.Equal(3, signals);
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static ServiceEndpointSnapshot Snapshot(string name)
        => new(new ServiceKey("default", name), true, null, EndpointSourceKind.EndpointSlices, ImmutableArray<ServiceEndpoint>.Empty, 1, null, DateTimeOffset.UnixEpoch);
}
