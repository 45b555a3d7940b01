using System.Collections.Immutable;
using System.Globalization;
using System.Net.Sockets;
using CsCheck;
using Discovery.Internal;
using k8s.Models;

namespace Discovery.Tests;

/// <summary>Invariants of the readiness model, slice merging and port mapping over generated inputs.</summary>
public class ModelPropertyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);

    private static readonly Gen<bool?> Condition = Gen.Int[0, 2].Select(i => i switch { 0 => (bool?)null, 1 => true, _ => false });

    private static readonly Gen<V1Endpoint> SliceEndpoint =
        Gen.Select(Gen.Int[1, 40], Condition, Condition, Condition)
            .Select((host, ready, serving, terminating) => new V1Endpoint
            {
                Addresses = ["10.0.0." + host.ToString(CultureInfo.InvariantCulture)],
                Conditions = new V1EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating },
            });

    private static readonly Gen<V1EndpointSlice[]> Slices = SliceEndpoint.Array[0, 12].Array[1, 4].Select(groups => groups
        .Select((endpoints, i) => new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "svc-" + i.ToString(CultureInfo.InvariantCulture) },
            AddressType = "IPv4",
            Endpoints = [.. endpoints],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080 }],
        })
        .ToArray());

    [Fact]
    public void Merged_slices_hold_each_address_once_and_the_usable_set_follows_the_rules()
    {
        Slices.Sample(slices =>
        {
            var endpoints = KubernetesObjectConverter.FromSlices(slices);
            var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "svc"), true, null, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", Now);
            var addresses = slices.SelectMany(s => s.Endpoints).SelectMany(e => e.Addresses).Distinct().Count();
            var anyReady = endpoints.Any(e => e.IsReady);
            var expected = anyReady
                ? endpoints.Where(e => e.IsReady)
                : endpoints.Where(e => e.IsServing && e.IsTerminating);
            return endpoints.Length == addresses
                && endpoints.Select(e => e.Address).Distinct().Count() == endpoints.Length
                && snapshot.UsableEndpoints.SequenceEqual(expected)
                && snapshot.UsesTerminatingFallback == (!anyReady && snapshot.UsableEndpoints.Length > 0)
                && snapshot.ReadyCount + snapshot.NotReadyCount + snapshot.TerminatingCount == endpoints.Length;
        });
    }

    [Fact]
    public void A_uri_port_always_maps_to_the_target_port_of_the_service_port_with_that_number()
    {
        var ports = Gen.Int[1, 5].SelectMany(count => Gen.Int[1, 30000].Array[count].Where(a => a.Distinct().Count() == a.Length));
        ports.Sample(numbers =>
        {
            var servicePorts = numbers.Select((n, i) => new ServicePortInfo("p" + i.ToString(CultureInfo.InvariantCulture), n, null, "TCP", null, null)).ToImmutableArray();
            var endpointPorts = numbers.Select((n, i) => new EndpointPort("p" + i.ToString(CultureInfo.InvariantCulture), n + 30000, "TCP", null)).ToImmutableArray();
            var info = new KubernetesServiceInfo("ClusterIP", "10.96.0.1", true, null, servicePorts, [], "1");
            var endpoint = new ServiceEndpoint("10.0.0.1", AddressFamily.InterNetwork, endpointPorts, true, true, false);
            var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "svc"), true, info, EndpointSourceKind.EndpointSlices, [endpoint], 1, "1", Now);
            return numbers.All(n =>
            {
                var selection = snapshot.SelectPort(n, null, "http", null);
                return selection.ServicePort == n && selection.Targets.Single().Port == n + 30000 && ReferenceEquals(selection, snapshot.SelectPort(n, null, "http", null));
            });
        });
    }
}
