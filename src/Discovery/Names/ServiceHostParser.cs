using System.Net;

namespace Discovery;

/// <summary>Decides whether a request host names a Kubernetes Service (BRIEF §2.1), and which.</summary>
public sealed class ServiceHostParser
{
    private const int MaxLabelLength = 63;
    private const int MaxPortNameLength = 15;

    private readonly string[] _clusterDomainLabels;

    /// <summary>Creates a parser.</summary>
    /// <param name="defaultNamespace">The namespace of single-label names.</param>
    /// <param name="clusterDomain">The cluster DNS domain, for example <c>cluster.local</c>.</param>
    public ServiceHostParser(string defaultNamespace, string clusterDomain = "cluster.local")
    {
        ArgumentException.ThrowIfNullOrEmpty(defaultNamespace);
        ArgumentNullException.ThrowIfNull(clusterDomain);
        DefaultNamespace = defaultNamespace.ToLowerInvariant();
        ClusterDomain = clusterDomain.Trim().TrimEnd('.').ToLowerInvariant();
        _clusterDomainLabels = ClusterDomain.Length == 0 ? [] : ClusterDomain.Split('.');
    }

    /// <summary>The namespace of single-label names.</summary>
    public string DefaultNamespace { get; }

    /// <summary>The cluster DNS domain.</summary>
    public string ClusterDomain { get; }

    /// <summary>Creates the parser an application configured with <paramref name="options"/> uses.</summary>
    /// <param name="options">The discovery options (namespace, cluster domain, service-account namespace file).</param>
    public static ServiceHostParser FromOptions(KubernetesDiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ServiceHostParser(ResolveDefaultNamespace(options), options.ClusterDomain);
    }

    /// <summary>
    /// The namespace of single-label names: <see cref="KubernetesDiscoveryOptions.Namespace"/> when set, else the pod's own
    /// namespace from the service-account namespace file, else <c>default</c>.
    /// </summary>
    /// <param name="options">The discovery options.</param>
    internal static string ResolveDefaultNamespace(KubernetesDiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.Namespace))
        {
            return options.Namespace.Trim().ToLowerInvariant();
        }

        try
        {
            var path = options.ServiceAccountNamespacePath;
            if (!string.IsNullOrEmpty(path) && File.Exists(path))
            {
                var fromFile = File.ReadAllText(path).Trim();
                if (IsDns1123Label(fromFile))
                {
                    return fromFile;
                }
            }
        }
        catch (IOException)
        {
            // An unreadable file means "not in a pod": fall through to the documented default.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }

        return "default";
    }

    /// <summary>Parses a host (as in <see cref="Uri.Host"/>; case-insensitive; a trailing dot allowed). Never throws for any input.</summary>
    /// <remarks>
    /// <see cref="ServiceHostParseResult.Service"/> never holds nulls: for an invalid host it is the best-effort reading
    /// (for error messages only; it names no real Service), for a pass-through host empty strings.
    /// </remarks>
    public ServiceHostParseResult Parse(string host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return Invalid("the host is empty");
        }

        // Uri.Host keeps the brackets of an IPv6 literal.
        if (host.Length > 2 && host[0] == '[' && host[^1] == ']')
        {
            return IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out _) ? PassThrough : Invalid("the bracketed host is not an IPv6 address");
        }

        if (IPAddress.TryParse(host, out _))
        {
            return PassThrough;
        }

        var name = host.EndsWith('.') ? host[..^1] : host;
        if (name.Length == 0)
        {
            return Invalid("the host is empty");
        }

        name = name.ToLowerInvariant();
        if (name == "localhost" || name.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return PassThrough;
        }

        var labels = name.Split('.');
        foreach (var label in labels)
        {
            if (label.Length == 0)
            {
                return Invalid("it contains an empty label ('..', or a leading dot)", BestEffortKey(labels));
            }
        }

        string? portName = null;
        var start = 0;
        if (labels[0][0] == '_')
        {
            portName = labels[0][1..];
            start = 1;
        }

        var count = labels.Length - start;
        if (count == 0)
        {
            return Invalid("a port label ('_name.') must be followed by a Service name", new ServiceKey(DefaultNamespace, string.Empty));
        }

        var domainLength = _clusterDomainLabels.Length;
        ServiceHostMatch match;
        string serviceName;
        string ns;
        if (count == 1)
        {
            match = ServiceHostMatch.Service;
            serviceName = labels[start];
            ns = DefaultNamespace;
        }
        else if (count == 2)
        {
            serviceName = labels[start];
            ns = labels[start + 1];
            if (!IsDns1035Label(serviceName) || !IsDns1123Label(ns))
            {
                // Two arbitrary labels are as likely an external name (intranet host, "example.com"): not our business.
                return PassThrough;
            }

            match = ServiceHostMatch.ServiceIfExists;
        }
        else if (count == 3 && labels[start + 2] == "svc")
        {
            match = ServiceHostMatch.Service;
            serviceName = labels[start];
            ns = labels[start + 1];
        }
        else if (count == 3 + domainLength && labels[start + 2] == "svc" && EndsWithClusterDomain(labels))
        {
            match = ServiceHostMatch.Service;
            serviceName = labels[start];
            ns = labels[start + 1];
        }
        else
        {
            // External names, and cluster names that are not Services (pod hostnames under a headless Service): DNS resolves them.
            return PassThrough;
        }

        var service = new ServiceKey(ns, serviceName);
        if (portName is not null && !IsPortName(portName, out var portReason))
        {
            return Invalid($"the port label '_{portName}' is not a valid port name: {portReason}", service);
        }

        if (!IsDns1035Label(serviceName, out var serviceReason))
        {
            return Invalid($"the Service name '{serviceName}' {serviceReason}", service);
        }

        if (!IsDns1123Label(ns, out var namespaceReason))
        {
            return Invalid($"the namespace '{ns}' {namespaceReason}", service);
        }

        return new ServiceHostParseResult(match, service, portName, null);
    }

    // Empty strings, not default: ServiceKey's members are non-nullable and callers format them into messages and logs.
    private static ServiceHostParseResult PassThrough => new(ServiceHostMatch.PassThrough, new ServiceKey(string.Empty, string.Empty), null, null);

    private static ServiceHostParseResult Invalid(string reason) => Invalid(reason, new ServiceKey(string.Empty, string.Empty));

    private static ServiceHostParseResult Invalid(string reason, ServiceKey bestEffort) => new(ServiceHostMatch.Invalid, bestEffort, null, reason);

    /// <summary>The Service a malformed host most likely meant (<c>name</c>, <c>name.namespace…</c>), skipping a port label.</summary>
    private ServiceKey BestEffortKey(string[] labels)
    {
        var parts = Array.FindAll(labels, static label => label.Length > 0);
        var start = parts.Length > 1 && parts[0].StartsWith('_') ? 1 : 0;
        return (parts.Length - start) switch
        {
            <= 0 => new ServiceKey(string.Empty, string.Empty),
            1 => new ServiceKey(DefaultNamespace, parts[start]),
            _ => new ServiceKey(parts[start + 1], parts[start]),
        };
    }

    private bool EndsWithClusterDomain(string[] labels)
    {
        var offset = labels.Length - _clusterDomainLabels.Length;
        for (var i = 0; i < _clusterDomainLabels.Length; i++)
        {
            if (!string.Equals(labels[offset + i], _clusterDomainLabels[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsDns1035Label(string value) => IsDns1035Label(value, out _);

    internal static bool IsDns1123Label(string value) => IsDns1123Label(value, out _);

    private static bool IsDns1035Label(string value, out string reason)
    {
        if (!IsDns1123Label(value, out reason))
        {
            return false;
        }

        if (value[0] is < 'a' or > 'z')
        {
            reason = "must start with a letter (DNS-1035 label)";
            return false;
        }

        return true;
    }

    private static bool IsDns1123Label(string value, out string reason)
    {
        if (value.Length == 0)
        {
            reason = "is empty";
            return false;
        }

        if (value.Length > MaxLabelLength)
        {
            reason = $"is longer than {MaxLabelLength} characters";
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                reason = $"contains '{c}'; only lower-case letters, digits and '-' are allowed";
                return false;
            }
        }

        if (value[0] == '-' || value[^1] == '-')
        {
            reason = "must start and end with a letter or digit";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    private static bool IsPortName(string value, out string reason)
    {
        // IANA_SVC_NAME, the rule Kubernetes applies to port names.
        if (value.Length is 0 or > MaxPortNameLength)
        {
            reason = $"must be 1 to {MaxPortNameLength} characters";
            return false;
        }

        var hasLetter = false;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is >= 'a' and <= 'z')
            {
                hasLetter = true;
            }
            else if (c == '-')
            {
                if (i == 0 || i == value.Length - 1 || value[i - 1] == '-')
                {
                    reason = "'-' may not start or end it, nor be doubled";
                    return false;
                }
            }
            else if (c is < '0' or > '9')
            {
                reason = $"contains '{c}'; only lower-case letters, digits and '-' are allowed";
                return false;
            }
        }

        if (!hasLetter)
        {
            reason = "must contain a letter";
            return false;
        }

        reason = string.Empty;
        return true;
    }
}
