using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

/// <summary>
/// Issue #11: the Service, namespace, chosen pod and attempt number are on the span of each attempt — the parent of that
/// attempt's System.Net.Http client span — and the caller's span is left alone.
/// </summary>
public sealed class ActivityTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Each_attempt_has_its_own_span_with_the_chosen_pod_as_parent_of_the_System_Net_Http_span()
    {
        await using var live = await Backend.StartAsync("pod-live");
        var dead = Ports.Refusing();
        using var callerSource = new ActivitySource("Discovery.Http.Tests.Caller");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "System.Net.Http" or DiscoveryHttpInstrumentation.ActivitySourceName || ReferenceEquals(source, callerSource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        // Round-robin from the first endpoint: the first attempt is refused, the retry goes to the live pod.
        await using var services = TestServices.Create(s => s.AddHttpClient("t").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port, "pod-dead"), FakeEndpointResolver.Endpoint(live));
        ActivityTraceId trace;
        Activity caller;
        using (caller = callerSource.StartActivity("caller")!)
        {
            trace = caller.TraceId;
            (await services.Client("t").GetAsync("http://alpaca-prod/items", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
            Assert.Same(caller, Activity.Current);
        }

        // Other tests run in parallel: only this trace counts.
        var ours = stopped.Where(a => a.TraceId == trace).ToArray();
        var http = ours.Where(a => a.Source.Name == "System.Net.Http").ToArray();
        Assert.Equal(2, http.Length);
        (string Address, int Port, string Pod)[] expected = [(dead.Address, dead.Port, "pod-dead"), (live.Address, live.Port, "pod-live")];
        for (var i = 0; i < 2; i++)
        {
            var client = http[i];
            var attempt = client.Parent;
            Assert.NotNull(attempt);
            Assert.Equal(DiscoveryHttpInstrumentation.ActivitySourceName, attempt.Source.Name);
            Assert.Equal(DiscoveryHttpInstrumentation.AttemptActivityName, attempt.OperationName);
            Assert.Same(caller, attempt.Parent);

            // The attempt span names the pod the client span actually went to.
            Assert.Equal($"http://{expected[i].Address}:{expected[i].Port}/items", client.GetTagItem("url.full"));
            Assert.Equal(expected[i].Address, attempt.GetTagItem(DiscoveryHttpInstrumentation.PeerAddressTag));
            Assert.Equal(expected[i].Port, attempt.GetTagItem(DiscoveryHttpInstrumentation.PeerPortTag));
            Assert.Equal(expected[i].Pod, attempt.GetTagItem(DiscoveryHttpInstrumentation.PodTag));
            Assert.Equal("alpaca-prod", attempt.GetTagItem(DiscoveryHttpInstrumentation.ServiceTag));
            Assert.Equal("default", attempt.GetTagItem(DiscoveryHttpInstrumentation.NamespaceTag));
            Assert.Equal(i == 0 ? null : (object)1, attempt.GetTagItem(DiscoveryHttpInstrumentation.ResendCountTag));
        }

        Assert.Equal(ActivityStatusCode.Error, http[0].Parent!.Status);
        Assert.Equal("connect_failure", http[0].Parent!.GetTagItem(DiscoveryHttpInstrumentation.ErrorTypeTag));
        Assert.Equal(ActivityStatusCode.Unset, http[1].Parent!.Status);

        // The caller's span carries none of it: no attempt overwrote another's tags on it.
        Assert.Null(caller.GetTagItem(DiscoveryHttpInstrumentation.PodTag));
        Assert.Null(caller.GetTagItem(DiscoveryHttpInstrumentation.ServiceTag));
    }
}
