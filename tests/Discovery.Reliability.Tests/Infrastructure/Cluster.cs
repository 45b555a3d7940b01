using Discovery.Testing;

namespace Discovery.Reliability.Tests.Infrastructure;

internal static class Cluster
{
    public const string Namespace = "default";

    public static Task<KubernetesApiEmulator> StartEmulatorAsync(Action<KubernetesApiEmulatorOptions>? configure = null)
    {
        var options = new KubernetesApiEmulatorOptions();
        configure?.Invoke(options);
        return KubernetesApiEmulator.StartAsync(options, TestContext.Current.CancellationToken);
    }

    public static Uri UriOf(string service, string path = "/api") => new($"http://{service}{path}");

    public static ServiceKey Key(string service) => new(Namespace, service);

    /// <summary>Sets a Service's single slice to exactly <paramref name="addresses"/> (all ready).</summary>
    public static void SetEndpoints(KubernetesApiEmulator emulator, string service, int port, IEnumerable<string> addresses, string sliceSuffix = "-emulated")
        => emulator.Apply(EmulatorObjects.EndpointSlice(Namespace, service, service + sliceSuffix, port, "http", addresses));

    public static ulong MaskOf(ServiceEndpointSnapshot snapshot, Func<string, int> indexOf)
    {
        ulong mask = 0;
        foreach (var endpoint in snapshot.UsableEndpoints)
        {
            var index = indexOf(endpoint.Address);
            if (index >= 0)
            {
                mask |= 1UL << index;
            }
        }

        return mask;
    }
}
