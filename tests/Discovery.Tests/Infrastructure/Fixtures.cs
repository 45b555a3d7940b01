using k8s;
using k8s.Models;

namespace Discovery.Tests.Infrastructure;

/// <summary>The objects recorded from a real API server (tests/fixtures/apiserver-v1.26/setup, a copy of the recorded transcripts), loaded fresh for each use.</summary>
internal static class Fixtures
{
    public const string Namespace = "demo";

    private static string SetupDirectory => Path.Combine(AppContext.BaseDirectory, "fixtures", "apiserver-v1.26", "setup");

    public static T Load<T>(string fileName) => KubernetesJson.Deserialize<T>(File.ReadAllText(Path.Combine(SetupDirectory, fileName)));

    public static V1Service AlpacaService() => Load<V1Service>("02-service-alpaca-prod.json");

    public static V1Service BandicootService() => Load<V1Service>("03-service-bandicoot-prod.json");

    public static V1Service ExternalDbService() => Load<V1Service>("04-service-external-db.json");

    public static V1Endpoints ExternalDbEndpoints() => Load<V1Endpoints>("05-endpoints-external-db.json");

    public static V1Service DocsService() => Load<V1Service>("06-service-docs.json");

    public static V1Service HeadlessService() => Load<V1Service>("07-service-alpaca-headless.json");

    public static V1Endpoints AlpacaEndpoints() => Load<V1Endpoints>("08-endpoints-alpaca-prod.json");

    public static V1EndpointSlice AlpacaSlice7xkqp() => Load<V1EndpointSlice>("09-endpointslice-alpaca-prod-7xkqp.json");

    public static V1EndpointSlice AlpacaSliceM2r9d() => Load<V1EndpointSlice>("10-endpointslice-alpaca-prod-m2r9d.json");

    public static V1EndpointSlice BandicootSliceV4() => Load<V1EndpointSlice>("11-endpointslice-bandicoot-prod-x7p2w.json");

    public static V1EndpointSlice BandicootSliceV6() => Load<V1EndpointSlice>("12-endpointslice-bandicoot-prod-v6q8z.json");

    /// <summary>Everything the recording's setup created that discovery reads.</summary>
    public static IEnumerable<IKubernetesObject<V1ObjectMeta>> All()
    {
        yield return AlpacaService();
        yield return BandicootService();
        yield return ExternalDbService();
        yield return ExternalDbEndpoints();
        yield return DocsService();
        yield return HeadlessService();
        yield return AlpacaEndpoints();
        yield return AlpacaSlice7xkqp();
        yield return AlpacaSliceM2r9d();
        yield return BandicootSliceV4();
        yield return BandicootSliceV6();
    }

    public static V1EndpointSlice Slice(string service, string name, params (string Address, bool? Ready)[] endpoints) => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = Namespace,
            Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service },
        },
        AddressType = "IPv4",
        Endpoints = [.. endpoints.Select(e => new V1Endpoint { Addresses = [e.Address], Conditions = new V1EndpointConditions { Ready = e.Ready } })],
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
    };

    public static V1Service Service(string name, params (string Name, int Port, int Target)[] ports) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = new Dictionary<string, string> { ["app"] = name },
            Ports = [.. ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.Port, TargetPort = p.Target, Protocol = "TCP" })],
        },
    };
}
