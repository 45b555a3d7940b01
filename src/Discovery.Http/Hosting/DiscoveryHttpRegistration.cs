namespace Discovery.Http;

/// <summary>
/// Which clients discovery applies to: all (<c>services.AddKubernetesDiscovery()</c>) or only those that opted in with
/// <c>AddHttpClient(...).AddKubernetesDiscovery()</c>. One instance per service collection, filled while registering.
/// </summary>
internal sealed class DiscoveryHttpRegistration
{
    public bool AllClients { get; set; }

    public HashSet<string> Clients { get; } = new(StringComparer.Ordinal);

    public bool AppliesTo(string name) => AllClients || Clients.Contains(name);
}
