using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

/// <summary>Issue #11: <c>ConfigureHttpClientDefaults(b =&gt; b.AddKubernetesDiscovery())</c> applies discovery to every client.</summary>
public sealed class ClientDefaultsTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task AddKubernetesDiscovery_in_ConfigureHttpClientDefaults_applies_to_every_client_with_its_options()
    {
        var backends = await Task.WhenAll(Backend.StartAsync("pod-a"), Backend.StartAsync("pod-b"));
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = TestServices.Create(
            s =>
            {
                s.ConfigureHttpClientDefaults(b => b.AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
                s.AddHttpClient("named");
                s.AddHttpClient("off").RemoveKubernetesDiscovery().ConfigurePrimaryHttpMessageHandler(() => recorder);
            },
            registerForAllClients: false);
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);

        // A named client, the default client and one created without registration all go to the pods, in turn.
        foreach (var name in new[] { "named", string.Empty, "unregistered" })
        {
            var client = services.Client(name);
            var bodies = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                bodies.Add(await client.GetStringAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));
            }

            Assert.Equal(2, bodies.Count(b => b == "pod-a"));
            Assert.Equal(2, bodies.Count(b => b == "pod-b"));
        }

        // A client's own opt-out still wins over the defaults.
        (await services.Client("off").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        Assert.Equal(new Uri("http://alpaca-prod/"), recorder.Seen.Single().Uri);
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }
}
