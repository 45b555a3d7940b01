using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

public sealed class ErrorTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    private static async Task<DiscoveryHttpRequestException> FailAsync(TestServices services, string url)
    {
        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => services.Client().GetAsync(url, TestContext.Current.CancellationToken));
        Assert.Equal(HttpRequestError.NameResolutionError, error.HttpRequestError);
        return error;
    }

    [Fact]
    public async Task Unknown_service()
    {
        await using var services = TestServices.Create();
        services.Resolver.PublishMissing(Alpaca);

        var error = await FailAsync(services, "http://alpaca-prod/");

        Assert.Equal(DiscoveryFailureReason.ServiceNotFound, error.Reason);
        Assert.IsType<ServiceNotFoundException>(error.InnerException);
        Assert.Equal("alpaca-prod", error.ServiceName);
        Assert.Equal("default", error.Namespace);
        Assert.Contains("Service 'alpaca-prod' was not found in namespace 'default'", error.Message, StringComparison.Ordinal);
        Assert.Contains("kubectl get service alpaca-prod -n default", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_ready_endpoints_reports_the_counts()
    {
        await using var services = TestServices.Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint("10.0.0.1", 8080, ready: false),
            FakeEndpointResolver.Endpoint("10.0.0.2", 8080, ready: false),
            new ServiceEndpoint("10.0.0.3", System.Net.Sockets.AddressFamily.InterNetwork, [new EndpointPort("http", 8080, "TCP", null)], false, false, true));

        var error = await FailAsync(services, "http://alpaca-prod/");

        Assert.Equal(DiscoveryFailureReason.NoReadyEndpoints, error.Reason);
        Assert.Contains("Service 'alpaca-prod' in namespace 'default' has no ready endpoints", error.Message, StringComparison.Ordinal);
        Assert.Contains("(2 not ready, 1 terminating)", error.Message, StringComparison.Ordinal);
        Assert.Contains("readiness probes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forbidden_by_rbac_names_the_verb_resource_and_role()
    {
        await using var services = TestServices.Create();
        services.Resolver.Fail(FakeEndpointResolver.Key("alpaca-prod", "payments"), new KubernetesForbiddenException(FakeEndpointResolver.Key("alpaca-prod", "payments"), "list", "endpointslices", "discovery.k8s.io"));

        var error = await FailAsync(services, "http://alpaca-prod.payments.svc/");

        Assert.Equal(DiscoveryFailureReason.Forbidden, error.Reason);
        Assert.Equal("payments", error.Namespace);
        Assert.Contains("cannot list endpointslices in namespace 'payments'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Role", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_unreachable()
    {
        await using var services = TestServices.Create();
        services.Resolver.Fail(Alpaca, new KubernetesApiUnavailableException(Alpaca, TimeSpan.FromSeconds(10), new HttpRequestException("Connection refused")));

        var error = await FailAsync(services, "http://alpaca-prod/");

        Assert.Equal(DiscoveryFailureReason.ApiUnavailable, error.Reason);
        Assert.Contains("could not be reached to discover Service 'alpaca-prod' in namespace 'default'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_such_port_name_lists_the_ports()
    {
        await using var services = TestServices.Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.ServiceInfo(new ServicePortInfo("http", 80, "http", "TCP", null, null), new ServicePortInfo("metrics", 9090, "metrics", "TCP", null, null)),
            FakeEndpointResolver.Endpoint("10.0.0.1", 8080));

        var error = await FailAsync(services, "http://_grpc.alpaca-prod/");

        Assert.Equal(DiscoveryFailureReason.PortNotFound, error.Reason);
        Assert.Contains("has no port named 'grpc'", error.Message, StringComparison.Ordinal);
        Assert.Contains("http (80)", error.Message, StringComparison.Ordinal);
        Assert.Contains("metrics (9090)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_service_name()
    {
        await using var services = TestServices.Create();

        var error = await FailAsync(services, "http://9lives.default.svc/");

        Assert.Equal(DiscoveryFailureReason.InvalidServiceName, error.Reason);
        Assert.Contains("'9lives.default.svc' is not a valid Kubernetes Service host", error.Message, StringComparison.Ordinal);
        Assert.Contains("DNS-1035", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, services.Resolver.AsyncCalls);
    }

    [Fact]
    public async Task Namespace_not_allowed()
    {
        await using var services = TestServices.Create();
        var key = FakeEndpointResolver.Key("vault", "secrets");
        services.Resolver.Fail(key, new NamespaceNotAllowedException(key, ["default", "team"]));

        var error = await FailAsync(services, "http://vault.secrets.svc/");

        Assert.Equal(DiscoveryFailureReason.NamespaceNotAllowed, error.Reason);
        Assert.Contains("Namespace 'secrets' is not in Discovery:AllowedNamespaces (default, team)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Svc_ns_hosts_that_discovery_cannot_check_pass_through_and_are_remembered()
    {
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = TestServices.Create(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder));
        var key = FakeEndpointResolver.Key("intranet", "corp");
        services.Resolver.Fail(key, new KubernetesForbiddenException(key, "list", "endpointslices", "discovery.k8s.io"));
        var client = services.Client("x");

        (await client.GetAsync("http://intranet.corp/", TestContext.Current.CancellationToken)).Dispose();
        (await client.GetAsync("http://intranet.corp/", TestContext.Current.CancellationToken)).Dispose();

        Assert.All(recorder.Seen, s => Assert.Equal(new Uri("http://intranet.corp/"), s.Uri));
        Assert.Equal(2, recorder.Seen.Count);
        Assert.Equal(1, services.Resolver.AsyncCalls);
    }

    [Fact]
    public async Task Svc_ns_hosts_outside_the_allow_list_reach_dns_only_as_absolute_names()
    {
        // "corp" is not an allowed namespace: the host may still be an external name (like example.com), but the pod's DNS search
        // list must not get the chance to expand it into the Service intranet of namespace corp.
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = TestServices.Create(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder));
        var key = FakeEndpointResolver.Key("intranet", "corp");
        services.Resolver.Fail(key, new NamespaceNotAllowedException(key, ["default"]));
        var client = services.Client("x");

        using var request = new HttpRequestMessage(HttpMethod.Get, "http://intranet.corp:8443/a?b=c");
        (await client.SendAsync(request, TestContext.Current.CancellationToken)).Dispose();
        (await client.GetAsync("http://intranet.corp/", TestContext.Current.CancellationToken)).Dispose();

        Assert.Equal(
            [("http://intranet.corp.:8443/a?b=c", "intranet.corp:8443"), ("http://intranet.corp./", "intranet.corp")],
            recorder.Seen.Select(s => (s.Uri?.AbsoluteUri, s.Host)).ToArray());
        Assert.Equal(new Uri("http://intranet.corp:8443/a?b=c"), request.RequestUri);
        Assert.Null(request.Headers.Host);
        Assert.Equal(1, services.Resolver.AsyncCalls);
    }
}
