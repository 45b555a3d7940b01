using System.Globalization;
using System.Text;

namespace Discovery.EndpointWatch;

/// <summary>
/// Formats snapshots the way <c>kubectl get endpoints --watch</c> does: one header, then one line per snapshot with
/// the endpoints that receive traffic (three at most, then "+ N more..."), plus readiness and what changed.
/// </summary>
public sealed class EndpointTable
{
    private const int MaxListed = 3;
    private readonly int _nameWidth;
    private ServiceEndpointSnapshot? _previous;

    /// <summary>Creates a table for one Service name.</summary>
    public EndpointTable(string serviceName)
    {
        ArgumentNullException.ThrowIfNull(serviceName);
        _nameWidth = Math.Max(serviceName.Length, 4) + 3;
    }

    /// <summary>The header line.</summary>
    public string Header => "NAME".PadRight(_nameWidth) + "ENDPOINTS".PadRight(ColumnWidths.Endpoints) + "READY".PadRight(ColumnWidths.Ready)
        + "AGE".PadRight(ColumnWidths.Age) + "CHANGE";

    /// <summary>Formats a snapshot, describing how it differs from the one formatted before.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="sinceStart">The time since the watch started (the AGE column).</param>
    public string Format(ServiceEndpointSnapshot snapshot, TimeSpan sinceStart)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var line = new StringBuilder();
        line.Append(snapshot.Service.Name.PadRight(_nameWidth));
        line.Append(FormatEndpoints(snapshot).PadRight(ColumnWidths.Endpoints - 1)).Append(' ');
        line.Append(string.Create(CultureInfo.InvariantCulture, $"{snapshot.ReadyCount}/{snapshot.Endpoints.Length}").PadRight(ColumnWidths.Ready));
        line.Append(FormatAge(sinceStart).PadRight(ColumnWidths.Age));
        line.Append(DescribeChange(_previous, snapshot));
        _previous = snapshot;
        return line.ToString().TrimEnd();
    }

    /// <summary>
    /// Whether <paramref name="snapshot"/> differs in anything the table shows from the last one formatted. The resolver
    /// may publish a new snapshot for a change this table does not show (the Service object's resourceVersion, a
    /// re-list that found the same set); like an unchanged row, such snapshots are not worth a line.
    /// </summary>
    public bool ShowsChange(ServiceEndpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return _previous is null
            || _previous.ServiceExists != snapshot.ServiceExists
            || _previous.Source != snapshot.Source
            || !Fingerprint(_previous).SetEquals(Fingerprint(snapshot));
    }

    /// <summary>The usable endpoints as <c>address:port</c>, comma-separated; <c>&lt;none&gt;</c> when there are none.</summary>
    public static string FormatEndpoints(ServiceEndpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!snapshot.ServiceExists)
        {
            return "<service not found>";
        }

        var addresses = snapshot.UsableEndpoints
            .SelectMany(e => e.Ports.Length == 0 ? [e.Address] : e.Ports.Select(p => Authority(e, p.Port)))
            .ToList();
        if (addresses.Count == 0)
        {
            return "<none>";
        }

        var listed = string.Join(',', addresses.Take(MaxListed));
        return addresses.Count > MaxListed
            ? listed + string.Create(CultureInfo.InvariantCulture, $" + {addresses.Count - MaxListed} more...")
            : listed;
    }

    /// <summary>Describes how <paramref name="current"/> differs from <paramref name="previous"/>.</summary>
    public static string DescribeChange(ServiceEndpointSnapshot? previous, ServiceEndpointSnapshot current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (previous is null)
        {
            return current.ServiceExists ? $"initial list ({current.Source})" : "initial list (no such Service)";
        }

        if (previous.ServiceExists != current.ServiceExists)
        {
            return current.ServiceExists ? "Service created" : "Service deleted";
        }

        var before = previous.Endpoints.ToDictionary(e => e.Address, StringComparer.Ordinal);
        var after = current.Endpoints.ToDictionary(e => e.Address, StringComparer.Ordinal);
        var changes = new List<string>();
        foreach (var endpoint in current.Endpoints)
        {
            if (!before.TryGetValue(endpoint.Address, out var old))
            {
                changes.Add($"+{Describe(endpoint)} {State(endpoint)}");
            }
            else if (State(old) != State(endpoint))
            {
                changes.Add($"{Describe(endpoint)} {State(old)}→{State(endpoint)}");
            }
        }

        changes.AddRange(previous.Endpoints.Where(e => !after.ContainsKey(e.Address)).Select(e => "-" + Describe(e)));
        return changes.Count == 0 ? "(no endpoint change)" : string.Join("; ", changes);
    }

    private static HashSet<string> Fingerprint(ServiceEndpointSnapshot snapshot) =>
        [.. snapshot.Endpoints.Select(e => $"{e.Address}|{State(e)}|{string.Join(',', e.Ports.Select(p => p.Port))}|{snapshot.UsableEndpoints.Contains(e)}")];

    private static string Describe(ServiceEndpoint endpoint) => endpoint.PodName is null ? endpoint.Address : $"{endpoint.Address} ({endpoint.PodName})";

    private static string State(ServiceEndpoint endpoint) => endpoint switch
    {
        { IsTerminating: true, IsServing: true } => "terminating(serving)",
        { IsTerminating: true } => "terminating",
        { IsReady: true } => "ready",
        _ => "not-ready",
    };

    private static string Authority(ServiceEndpoint endpoint, int port) =>
        endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"[{endpoint.Address}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{endpoint.Address}:{port}");

    // kubectl's short age form: 45s, 3m12s, 2h5m.
    private static string FormatAge(TimeSpan age) => age switch
    {
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalSeconds}s"),
        { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{age.Minutes}m{age.Seconds}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalHours}h{age.Minutes}m"),
    };

    private static class ColumnWidths
    {
        public const int Endpoints = 56;
        public const int Ready = 8;
        public const int Age = 7;
    }
}
