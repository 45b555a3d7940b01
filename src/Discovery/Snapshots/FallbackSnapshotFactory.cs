using System.Collections;
using System.Collections.Immutable;
using System.Globalization;
using System.Net.Sockets;

namespace Discovery.Internal;

/// <summary>Builds the opt-in snapshots used when the API cannot be: service environment variables, then cluster DNS.</summary>
internal static class FallbackSnapshotFactory
{
    public static ServiceEndpointSnapshot? FromEnvironment(ServiceKey service, string ownNamespace, long version, DateTimeOffset now)
    {
        // Kubernetes injects these only for Services of the pod's own namespace.
        if (!string.Equals(service.Namespace, ownNamespace, StringComparison.Ordinal))
        {
            return null;
        }

        var prefix = service.Name.ToUpperInvariant().Replace('-', '_') + "_SERVICE_";
        var host = Environment.GetEnvironmentVariable(prefix + "HOST");
        if (string.IsNullOrEmpty(host))
        {
            return null;
        }

        var ports = ImmutableArray.CreateBuilder<ServicePortInfo>();
        var namedPrefix = prefix + "PORT_";
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string key && key.StartsWith(namedPrefix, StringComparison.Ordinal)
                && int.TryParse(variable.Value as string, NumberStyles.None, CultureInfo.InvariantCulture, out var named))
            {
                var name = key[namedPrefix.Length..].ToLowerInvariant().Replace('_', '-');
                ports.Add(new ServicePortInfo(name, named, null, "TCP", null, null));
            }
        }

        if (ports.Count == 0 && int.TryParse(Environment.GetEnvironmentVariable(prefix + "PORT"), NumberStyles.None, CultureInfo.InvariantCulture, out var single))
        {
            ports.Add(new ServicePortInfo(string.Empty, single, null, "TCP", null, null));
        }

        var servicePorts = ports.ToImmutable();
        var info = new KubernetesServiceInfo("ClusterIP", host, true, null, servicePorts, [], null);
        var endpoint = new ServiceEndpoint(
            host,
            KubernetesObjectConverter.FamilyOf(host),
            [.. servicePorts.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, null))],
            isReady: true,
            isServing: true,
            isTerminating: false);
        return new ServiceEndpointSnapshot(service, true, info, EndpointSourceKind.EnvironmentVariables, [endpoint], version, null, now);
    }

    public static ServiceEndpointSnapshot FromDns(ServiceKey service, string clusterDomain, long version, DateTimeOffset now)
    {
        // The cluster IP behind the Service's DNS name listens on the Service ports: the URI port is used as written.
        var host = $"{service.Name}.{service.Namespace}.svc.{clusterDomain.TrimEnd('.')}";
        var endpoint = new ServiceEndpoint(host, AddressFamily.Unspecified, [], isReady: true, isServing: true, isTerminating: false);
        return new ServiceEndpointSnapshot(service, true, null, EndpointSourceKind.Dns, [endpoint], version, null, now);
    }
}
