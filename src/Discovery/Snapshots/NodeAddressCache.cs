using System.Collections.Frozen;
using System.Net.Sockets;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// Node name → address, for the NodePort address mode. Listing nodes needs a ClusterRole many apps lack: a refusal is
/// remembered (and logged once) so it costs one request per refresh period, not one per snapshot.
/// </summary>
internal sealed class NodeAddressCache(WatcherContext context)
{
    private static readonly TimeSpan RefreshPeriod = TimeSpan.FromMinutes(1);

    private readonly object _gate = new();
    private Entry? _entry;
    private Task<IReadOnlyDictionary<string, string>?>? _refresh;
    private int _loggedUnavailable;

    /// <summary>Returns the node addresses, or <see langword="null"/> when they cannot be read.</summary>
    public ValueTask<IReadOnlyDictionary<string, string>?> GetAsync(AddressMode mode, CancellationToken cancellationToken)
    {
        var entry = Volatile.Read(ref _entry);
        if (entry is not null && context.TimeProvider.GetElapsedTime(entry.FetchedAt) < RefreshPeriod)
        {
            return new ValueTask<IReadOnlyDictionary<string, string>?>(entry.Addresses);
        }

        Task<IReadOnlyDictionary<string, string>?> refresh;
        lock (_gate)
        {
            // One request at a time, shared by every watcher that needs the answer.
            if (_refresh is null || _refresh.IsCompleted)
            {
                _refresh = RefreshAsync(mode);
            }

            refresh = _refresh;
        }

        return new ValueTask<IReadOnlyDictionary<string, string>?>(refresh.WaitAsync(cancellationToken));
    }

    private async Task<IReadOnlyDictionary<string, string>?> RefreshAsync(AddressMode mode)
    {
        IReadOnlyDictionary<string, string>? addresses;
        try
        {
            // Bounded like every list: a hung request would otherwise hold every NodePort snapshot build behind it.
            using var timeout = new CancellationTokenSource(context.Options.RequestTimeout, context.TimeProvider);
            var nodes = await context.Api.ListNodesAsync(timeout.Token).ConfigureAwait(false);
            addresses = ToAddresses(nodes, context.IsInCluster);
        }
        catch (Exception e)
        {
            addresses = null;
            if (Interlocked.Exchange(ref _loggedUnavailable, 1) == 0)
            {
                DiscoveryLog.NodeAddressesUnavailable(context.Logger, mode, e.Message);
            }
        }

        Volatile.Write(ref _entry, new Entry(addresses, context.TimeProvider.GetTimestamp()));
        return addresses;
    }

    private static FrozenDictionary<string, string> ToAddresses(IReadOnlyList<V1Node> nodes, bool inCluster)
    {
        // Outside the cluster only an external address is likely reachable; inside, the internal one is the direct path.
        string[] preference = inCluster ? ["InternalIP", "ExternalIP", "Hostname"] : ["ExternalIP", "InternalIP", "Hostname"];
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (node.Metadata?.Name is not { Length: > 0 } name || node.Status?.Addresses is not { Count: > 0 } addresses)
            {
                continue;
            }

            foreach (var type in preference)
            {
                // The address becomes a request's host: one that is neither an IP literal nor a DNS name is passed over.
                var match = addresses.FirstOrDefault(a => string.Equals(a.Type, type, StringComparison.Ordinal) && Usable(a.Address, type));
                if (match is not null)
                {
                    result[name] = IpLiteral.TryNormalize(match.Address, AddressFamily.Unspecified, out var ip, out _) ? ip : match.Address;
                    break;
                }
            }
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static bool Usable(string? address, string type)
        => IpLiteral.TryNormalize(address, AddressFamily.Unspecified, out _, out _) || (type == "Hostname" && IpLiteral.IsDnsName(address));

    private sealed record Entry(IReadOnlyDictionary<string, string>? Addresses, long FetchedAt);
}
