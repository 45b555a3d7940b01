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

    // Created with the first line (most watchers never skip anything, and a namespace watch has thousands of them), then
    // never replaced: it is also the lock that guards it (a lock object of its own would be 24 B more for every log).
    private HashSet<(string Kind, string? Namespace, string? Name, string? ResourceVersion)>? _logged;

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

    /// <summary>Logs what a projection recorded as left out of its object (nothing for <see langword="null"/>).</summary>
    public void Report(ObjectIssues? issues)
    {
        if (issues is null)
        {
            return;
        }

        if (issues.ObjectSkipped is { } reason)
        {
            if (!FirstTime(issues.Kind, issues.Namespace, issues.Name, issues.ResourceVersion))
            {
                return;
            }

            if (issues.Unexpected)
            {
                DiscoveryLog.ObjectSkipped(logger, issues.Kind, issues.Namespace, issues.Name, issues.ResourceVersion, service.Namespace, service.Name, reason);
            }
            else
            {
                DiscoveryLog.UnsupportedObjectSkipped(logger, issues.Kind, issues.Namespace, issues.Name, service.Namespace, service.Name, reason);
            }
        }
        else if (issues.EntriesSkipped > 0 && FirstTime(issues.Kind, issues.Namespace, issues.Name, issues.ResourceVersion))
        {
            DiscoveryLog.EntriesSkipped(logger, issues.EntriesSkipped, issues.Kind, issues.Namespace, issues.Name, issues.ResourceVersion, service.Namespace, service.Name, issues.FirstEntryProblem ?? string.Empty);
        }
    }

    private bool FirstTime(string kind, V1ObjectMeta? metadata)
        => FirstTime(kind, metadata?.NamespaceProperty, metadata?.Name, metadata?.ResourceVersion);

    private bool FirstTime(string kind, string? ns, string? name, string? resourceVersion)
    {
        var logged = Volatile.Read(ref _logged);
        if (logged is null)
        {
            var created = new HashSet<(string Kind, string? Namespace, string? Name, string? ResourceVersion)>();
            logged = Interlocked.CompareExchange(ref _logged, created, null) ?? created;
        }

        lock (logged)
        {
            if (logged.Count >= MaxRemembered)
            {
                logged.Clear();
            }

            return logged.Add((kind, ns, name, resourceVersion));
        }
    }
}
