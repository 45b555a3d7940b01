using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discovery.Http.Tests;

public sealed class OptionsTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Options_bind_from_configuration_for_every_client_and_per_client()
    {
        await using var services = TestServices.Create(
            s => s.AddHttpClient("special").AddKubernetesDiscovery(o => o.MaxRetriesAfterSend = 2),
            configuration: new Dictionary<string, string?>
            {
                ["Discovery:Http:LoadBalancingPolicy"] = "RoundRobin",
                ["Discovery:Http:PassiveHealth:ConsecutiveFailures"] = "7",
                ["Discovery:Http:Clients:special:MaxConnectFailureRetries"] = "3",
                ["Discovery:Http:Clients:special:Zone"] = "zone-x",
            });
        var monitor = services.Get<IOptionsMonitor<DiscoveryHttpClientOptions>>();

        var special = monitor.Get("special");
        Assert.Equal("RoundRobin", special.LoadBalancingPolicy);
        Assert.Equal(7, special.PassiveHealth.ConsecutiveFailures);
        Assert.Equal(3, special.MaxConnectFailureRetries);
        Assert.Equal(2, special.MaxRetriesAfterSend);
        Assert.Equal("zone-x", special.Zone);
        var other = monitor.Get("other");
        Assert.Equal("RoundRobin", other.LoadBalancingPolicy);
        Assert.Equal(1, other.MaxConnectFailureRetries);
    }

    [Fact]
    public async Task Invalid_options_fail_at_startup_naming_the_setting()
    {
        await using var services = TestServices.Create(
            s => s.AddHttpClient("bad").AddKubernetesDiscovery(o => o.PassiveHealth.MaxEjectedShare = 2),
            configuration: new Dictionary<string, string?> { ["Discovery:Http:LoadBalancingPolicy"] = "LeastRequestsPlease" });

        var error = Assert.Throws<AggregateException>(() => services.Get<IStartupValidator>().Validate());
        Assert.All(error.InnerExceptions, e => Assert.IsType<OptionsValidationException>(e));

        Assert.Contains("Discovery:Http:LoadBalancingPolicy (every client) is 'LeastRequestsPlease'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:Http:PassiveHealth:MaxEjectedShare (client 'bad')", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registered_custom_policy_is_selected_by_name()
    {
        await using var first = await Backend.StartAsync("pod-first");
        await using var second = await Backend.StartAsync("pod-second");
        await using var services = TestServices.Create(
            s => s.AddSingleton<ILoadBalancingPolicy, FirstPolicy>(),
            configuration: new Dictionary<string, string?> { ["Discovery:Http:LoadBalancingPolicy"] = "First" });
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(first), FakeEndpointResolver.Endpoint(second));
        services.Get<IStartupValidator>().Validate();

        for (var i = 0; i < 5; i++)
        {
            (await services.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(5, first.Requests);
        Assert.Equal(0, second.Requests);
    }

    private sealed class FirstPolicy : ILoadBalancingPolicy
    {
        public string Name => "First";

        public DestinationState? PickDestination(in LoadBalancingContext context, IReadOnlyList<DestinationState> destinations)
            => destinations.OrderBy(d => d.Authority, StringComparer.Ordinal).FirstOrDefault(d => d.Endpoint.PodName == "pod-first");
    }
}
