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

    // With ready drawn like the others, a set with no ready endpoint is rare (a third to the power of its size): half of
    // these sets have ready false throughout, so the serving-and-terminating fallback is exercised as often as the rest.
    private static readonly Gen<V1EndpointSlice[]> MixedAndNoneReady = Gen.Bool.SelectMany(noneReady => SlicesOf(SliceEndpoint(noneReady ? Gen.Const((bool?)false) : Condition)));

    private static Gen<V1Endpoint> SliceEndpoint(Gen<bool?> ready) =>
        Gen.Select(Gen.Int[1, 40], ready, Condition, Condition)
            .Select((host, isReady, serving, terminating) => new V1Endpoint
            {
                Addresses = ["10.0.0." + host.ToString(CultureInfo.InvariantCulture)],
                Conditions = new V1EndpointConditions { Ready = isReady, Serving = serving, Terminating = terminating },
            });

    private static Gen<V1EndpointSlice[]> SlicesOf(Gen<V1Endpoint> endpoint) => endpoint.Array[0, 12].Array[1, 4].Select(groups => groups
        .Select((endpoints, i) => new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "svc-" + i.ToString(CultureInfo.InvariantCulture) },
            AddressType = "IPv4",
            Endpoints = [.. endpoints],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080 }],
        })
        .ToArray());

    /// <summary>The same slices with every address distinct (10.&lt;slice&gt;.0.&lt;index&gt;), so each address has one set of raw conditions.</summary>
    private static V1EndpointSlice[] WithDistinctAddresses(V1EndpointSlice[] slices) => slices
        .Select((slice, s) => new V1EndpointSlice
        {
            Metadata = slice.Metadata,
            AddressType = slice.AddressType,
            Ports = slice.Ports,
            Endpoints = [.. slice.Endpoints.Select((e, i) => new V1Endpoint
            {
                Addresses = [$"10.{s.ToString(CultureInfo.InvariantCulture)}.0.{i.ToString(CultureInfo.InvariantCulture)}"],
                Conditions = e.Conditions,
            })],
        })
        .ToArray();

    // The rules of BRIEF §2.3 read straight off the wire conditions, without the product's converted flags: ready when
    // conditions.ready is true or absent; when no endpoint is ready, those both serving and terminating (serving absent
    // defers to ready, terminating absent is false).
    private static bool RawReady(V1Endpoint e) => e.Conditions?.Ready ?? true;

    private static bool RawServingAndTerminating(V1Endpoint e) => (e.Conditions?.Serving ?? RawReady(e)) && (e.Conditions?.Terminating ?? false);

    [Fact]
    public void The_usable_set_follows_the_raw_conditions_ready_or_absent_else_serving_and_terminating()
    {
        MixedAndNoneReady.Select(WithDistinctAddresses).Sample(slices =>
        {
            var raw = slices.SelectMany(s => s.Endpoints).ToArray();
            var anyReady = raw.Any(RawReady);
            var expected = raw.Where(e => anyReady ? RawReady(e) : RawServingAndTerminating(e)).Select(e => e.Addresses.Single()).Order(StringComparer.Ordinal).ToArray();

            var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "svc"), true, null, EndpointSourceKind.EndpointSlices, KubernetesObjectConverter.FromSlices(slices), 1, "1", Now);
            var usable = snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal).ToArray();
            return usable.SequenceEqual(expected)
                && snapshot.UsesTerminatingFallback == (!anyReady && expected.Length > 0);
        });
    }

    [Fact]
    public void Merged_slices_hold_each_address_once_and_a_ready_duplicate_wins()
    {
        MixedAndNoneReady.Sample(slices =>
        {
            var endpoints = KubernetesObjectConverter.FromSlices(slices);
            var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "svc"), true, null, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", Now);
            var copies = slices.SelectMany(s => s.Endpoints).GroupBy(e => e.Addresses.Single()).ToArray();
            var usable = snapshot.UsableEndpoints.Select(e => e.Address).ToHashSet(StringComparer.Ordinal);
            var anyReady = copies.Any(g => g.Any(RawReady));

            // An address listed in two slices is one endpoint; if any copy is ready, it is ready. With none ready, an
            // address used by the fallback has a serving-and-terminating copy, and one whose every copy is so is used.
            bool UsableAsExpected(IGrouping<string, V1Endpoint> g) => anyReady
                ? usable.Contains(g.Key) == g.Any(RawReady)
                : (!usable.Contains(g.Key) || g.Any(RawServingAndTerminating)) && (!g.All(RawServingAndTerminating) || usable.Contains(g.Key));

            return endpoints.Length == copies.Length
                && endpoints.Select(e => e.Address).Distinct().Count() == endpoints.Length
                && copies.All(UsableAsExpected)
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
