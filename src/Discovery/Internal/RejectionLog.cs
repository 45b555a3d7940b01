using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Discovery.Internal;

/// <summary>
/// Logs what was skipped of an API object once per object version. Snapshots are rebuilt from every held object on each
/// change, and a broken or hostile stream can repeat a bad object or carry 100,000 bad entries in one: a log line per
/// entry or per rebuild would flood the logs.
/// </summary>
internal sealed class RejectionLog(ILogger logger, ServiceKey service)
{
    // Enough for every object a large Service holds; past it, forgetting only means an unchanged object is logged again.
    private const int MaxRemembered = 4096;

    private readonly object _gate = new();
    private readonly HashSet<(string Kind, string? Namespace, string? Name, string? ResourceVersion)> _logged = [];

    /// <summary>A whole object was not used.</summary>
    public void ObjectSkipped(string kind, V1ObjectMeta? metadata, string reason, bool unexpected = true)
    {
        if (!FirstTime(kind, metadata))
        {
            return;
        }

        if (unexpected)
        {
            DiscoveryLog.ObjectSkipped(logger, kind, metadata?.NamespaceProperty, metadata?.Name, metadata?.ResourceVersion, service.Namespace, service.Name, reason);
        }
        else
        {
            DiscoveryLog.UnsupportedObjectSkipped(logger, kind, metadata?.NamespaceProperty, metadata?.Name, service.Namespace, service.Name, reason);
        }
    }

    /// <summary>Some entries (addresses, ports) of an object were not used; the rest of it was.</summary>
    public void EntriesSkipped(string kind, V1ObjectMeta? metadata, in SkipTally tally)
    {
        if (tally.Count > 0 && FirstTime(kind, metadata))
        {
            DiscoveryLog.EntriesSkipped(logger, tally.Count, kind, metadata?.NamespaceProperty, metadata?.Name, metadata?.ResourceVersion, service.Namespace, service.Name, tally.First ?? string.Empty);
        }
    }

    private bool FirstTime(string kind, V1ObjectMeta? metadata)
    {
        lock (_gate)
        {
            if (_logged.Count >= MaxRemembered)
            {
                _logged.Clear();
            }

            return _logged.Add((kind, metadata?.NamespaceProperty, metadata?.Name, metadata?.ResourceVersion));
        }
    }
}
