using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Discovery.Testing.Store;

namespace Discovery.Testing.Validation;

/// <summary>
/// The subset of the API server's validation that matters for discovery objects, with the real
/// field paths and messages. Loopback endpoint addresses may be allowed on purpose (see options).
/// </summary>
internal static partial class ObjectValidator
{
    private const string Dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string Dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    private const string Dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    private static readonly string[] Protocols = ["SCTP", "TCP", "UDP"];
    private static readonly string[] AddressTypes = ["FQDN", "IPv4", "IPv6"];
    private static readonly string[] ServiceTypes = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

    /// <summary>Validates a defaulted object; <paramref name="existing"/> is set on update.</summary>
    public static List<FieldError> Validate(ResourceType type, JsonObject obj, JsonObject? existing, bool allowLoopback)
    {
        var errors = new List<FieldError>();
        var metadata = obj["metadata"] as JsonObject ?? [];
        var name = Str(metadata, "name");
        ValidateName(type, name, errors);
        ValidateLabelsAndAnnotations(metadata, errors);

        if (type == ResourceTypes.EndpointSlices)
        {
            ValidateEndpointSlice(obj, existing, allowLoopback, errors);
        }
        else if (type == ResourceTypes.Endpoints)
        {
            ValidateEndpoints(obj, allowLoopback, errors);
        }
        else if (type == ResourceTypes.Services)
        {
            ValidateService(obj, existing, errors);
        }

        return errors;
    }

    private static void ValidateName(ResourceType type, string? name, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
            return;
        }

        if (type == ResourceTypes.Services)
        {
            if (!IsDns1035Label(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", name, Dns1035LabelMessage));
            }
        }
        else if (type == ResourceTypes.Namespaces)
        {
            if (!IsDns1123Label(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", name, Dns1123LabelMessage));
            }
        }
        else if (!IsDns1123Subdomain(name))
        {
            errors.Add(FieldError.Invalid("metadata.name", name, Dns1123SubdomainMessage));
        }
    }

    private static void ValidateLabelsAndAnnotations(JsonObject metadata, List<FieldError> errors)
    {
        if (metadata["labels"] is JsonObject labels)
        {
            foreach (var (key, value) in labels)
            {
                if (!IsQualifiedName(key))
                {
                    errors.Add(FieldError.Invalid("metadata.labels", key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
                }

                var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
                if (text is null || text.Length > 63 || (text.Length > 0 && !LabelValue().IsMatch(text)))
                {
                    errors.Add(FieldError.Invalid("metadata.labels", text, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
                }
            }
        }

        if (metadata["annotations"] is JsonObject annotations)
        {
            foreach (var (key, _) in annotations)
            {
                if (!IsQualifiedName(key))
                {
                    errors.Add(FieldError.Invalid("metadata.annotations", key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
                }
            }
        }
    }

    private static void ValidateEndpointSlice(JsonObject obj, JsonObject? existing, bool allowLoopback, List<FieldError> errors)
    {
        var addressType = Str(obj, "addressType");
        if (string.IsNullOrEmpty(addressType))
        {
            errors.Add(FieldError.Required("addressType"));
        }
        else if (!AddressTypes.Contains(addressType))
        {
            errors.Add(FieldError.NotSupported("addressType", addressType, AddressTypes));
        }
        else if (existing is not null && Str(existing, "addressType") is { } oldType && oldType != addressType)
        {
            errors.Add(FieldError.Invalid("addressType", addressType, "field is immutable"));
        }

        if (obj["endpoints"] is JsonArray endpoints)
        {
            if (endpoints.Count > 1000)
            {
                errors.Add(FieldError.TooMany("endpoints", endpoints.Count, 1000));
            }

            for (var i = 0; i < endpoints.Count; i++)
            {
                var path = $"endpoints[{i}]";
                if (endpoints[i] is not JsonObject endpoint)
                {
                    continue;
                }

                var addresses = endpoint["addresses"] as JsonArray;
                if (addresses is null || addresses.Count == 0)
                {
                    errors.Add(FieldError.Required(path + ".addresses", "must contain at least 1 address"));
                }
                else if (addresses.Count > 100)
                {
                    errors.Add(FieldError.TooMany(path + ".addresses", addresses.Count, 100));
                }
                else
                {
                    for (var j = 0; j < addresses.Count; j++)
                    {
                        ValidateSliceAddress($"{path}.addresses[{j}]", addresses[j]?.ToString() ?? "", addressType, allowLoopback, errors);
                    }
                }

                if (Str(endpoint, "nodeName") is { Length: > 0 } nodeName && !IsDns1123Subdomain(nodeName))
                {
                    errors.Add(FieldError.Invalid(path + ".nodeName", nodeName, Dns1123SubdomainMessage));
                }

                if (Str(endpoint, "hostname") is { } hostname && !IsDns1123Label(hostname))
                {
                    errors.Add(FieldError.Invalid(path + ".hostname", hostname, Dns1123LabelMessage));
                }

                if (endpoint["hints"] is JsonObject hints)
                {
                    ValidateHints(path + ".hints", hints, errors);
                }
            }
        }

        if (obj["ports"] is JsonArray ports)
        {
            if (ports.Count > 20000)
            {
                errors.Add(FieldError.TooMany("ports", ports.Count, 20000));
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < ports.Count; i++)
            {
                if (ports[i] is not JsonObject port)
                {
                    continue;
                }

                var path = $"ports[{i}]";
                var portName = Str(port, "name") ?? "";
                if (portName.Length > 0 && !IsDns1123Label(portName))
                {
                    errors.Add(FieldError.Invalid(path + ".name", portName, Dns1123LabelMessage));
                }

                if (!names.Add(portName))
                {
                    errors.Add(FieldError.Duplicate(path + ".name", portName));
                }

                ValidateProtocol(path + ".protocol", Str(port, "protocol"), errors);
                if (port["port"] is JsonValue portValue && int.TryParse(portValue.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number is < 1 or > 65535)
                {
                    errors.Add(FieldError.Invalid(path + ".port", number, "must be between 1 and 65535, inclusive"));
                }
            }
        }
    }

    private static void ValidateSliceAddress(string path, string address, string? addressType, bool allowLoopback, List<FieldError> errors)
    {
        switch (addressType)
        {
            case "IPv4":
                if (!IPAddress.TryParse(address, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || address.Contains(':', StringComparison.Ordinal))
                {
                    errors.Add(FieldError.Invalid(path, address, "must be a valid IPv4 address"));
                    return;
                }

                ValidateNonSpecial(path, address, v4, allowLoopback, errors);
                break;
            case "IPv6":
                if (!IPAddress.TryParse(address, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                {
                    errors.Add(FieldError.Invalid(path, address, "must be a valid IPv6 address"));
                    return;
                }

                ValidateNonSpecial(path, address, v6, allowLoopback, errors);
                break;
            case "FQDN":
                if (!IsDns1123Subdomain(address))
                {
                    errors.Add(FieldError.Invalid(path, address, Dns1123SubdomainMessage));
                }

                break;
        }
    }

    private static void ValidateNonSpecial(string path, string text, IPAddress address, bool allowLoopback, List<FieldError> errors)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            errors.Add(FieldError.Invalid(path, text, "may not be unspecified (0.0.0.0, ::)"));
        }
        else if (IPAddress.IsLoopback(address) && !allowLoopback)
        {
            errors.Add(FieldError.Invalid(path, text, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
        }
        else if (IsLinkLocal(address))
        {
            errors.Add(FieldError.Invalid(path, text, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
        }
        else if (IsLinkLocalMulticast(address))
        {
            errors.Add(FieldError.Invalid(path, text, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
        }
    }

    private static void ValidateEndpoints(JsonObject obj, bool allowLoopback, List<FieldError> errors)
    {
        if (obj["subsets"] is not JsonArray subsets)
        {
            return;
        }

        for (var i = 0; i < subsets.Count; i++)
        {
            if (subsets[i] is not JsonObject subset)
            {
                continue;
            }

            var path = $"subsets[{i}]";
            foreach (var list in new[] { "addresses", "notReadyAddresses" })
            {
                if (subset[list] is not JsonArray addresses)
                {
                    continue;
                }

                for (var j = 0; j < addresses.Count; j++)
                {
                    var ip = Str(addresses[j] as JsonObject, "ip") ?? "";
                    var field = $"{path}.{list}[{j}].ip";
                    if (!IPAddress.TryParse(ip, out var address))
                    {
                        errors.Add(FieldError.Invalid(field, ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
                        continue;
                    }

                    ValidateNonSpecial(field, ip, address, allowLoopback, errors);
                }
            }

            var ports = subset["ports"] as JsonArray;
            if ((subset["addresses"] is JsonArray { Count: > 0 } || subset["notReadyAddresses"] is JsonArray { Count: > 0 }) && (ports is null || ports.Count == 0))
            {
                errors.Add(FieldError.Required(path + ".ports"));
            }

            if (ports is null)
            {
                continue;
            }

            for (var j = 0; j < ports.Count; j++)
            {
                var port = ports[j] as JsonObject;
                var portPath = $"{path}.ports[{j}]";
                var portName = Str(port, "name") ?? "";
                if (ports.Count > 1 && portName.Length == 0)
                {
                    errors.Add(FieldError.Required(portPath + ".name"));
                }
                else if (portName.Length > 0 && !IsDns1123Label(portName))
                {
                    errors.Add(FieldError.Invalid(portPath + ".name", portName, Dns1123LabelMessage));
                }

                ValidatePortNumber(portPath + ".port", port?["port"], errors);
                ValidateProtocol(portPath + ".protocol", Str(port, "protocol"), errors);
            }
        }
    }

    private static void ValidateService(JsonObject obj, JsonObject? existing, List<FieldError> errors)
    {
        var spec = obj["spec"] as JsonObject ?? [];
        var type = Str(spec, "type") ?? "ClusterIP";
        if (!ServiceTypes.Contains(type))
        {
            errors.Add(FieldError.NotSupported("spec.type", type, ServiceTypes));
            return;
        }

        var ports = spec["ports"] as JsonArray;
        if (type == "ExternalName")
        {
            var externalName = Str(spec, "externalName");
            if (string.IsNullOrEmpty(externalName))
            {
                errors.Add(FieldError.Required("spec.externalName"));
            }
            else if (!IsDns1123Subdomain(externalName.TrimEnd('.')))
            {
                errors.Add(FieldError.Invalid("spec.externalName", externalName, Dns1123SubdomainMessage));
            }
        }
        else if ((ports is null || ports.Count == 0) && Str(spec, "clusterIP") != "None")
        {
            errors.Add(FieldError.Required("spec.ports"));
        }

        if (ports is not null)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < ports.Count; i++)
            {
                var port = ports[i] as JsonObject;
                var path = $"spec.ports[{i}]";
                var portName = Str(port, "name") ?? "";
                if (ports.Count > 1 && portName.Length == 0)
                {
                    errors.Add(FieldError.Required(path + ".name"));
                }
                else if (portName.Length > 0)
                {
                    if (!IsDns1123Label(portName))
                    {
                        errors.Add(FieldError.Invalid(path + ".name", portName, Dns1123LabelMessage));
                    }
                    else if (!names.Add(portName))
                    {
                        errors.Add(FieldError.Duplicate(path + ".name", portName));
                    }
                }

                ValidatePortNumber(path + ".port", port?["port"], errors);
                var protocol = Str(port, "protocol");
                ValidateProtocol(path + ".protocol", protocol, errors);
                if (port?["port"] is JsonValue p && !keys.Add(p.ToJsonString() + "/" + protocol))
                {
                    errors.Add(FieldError.Duplicate(path, $"{{{p.ToJsonString()}, {protocol}}}"));
                }

                if (port?["targetPort"] is JsonValue target)
                {
                    if (target.GetValueKind() == JsonValueKind.Number)
                    {
                        ValidatePortNumber(path + ".targetPort", target, errors);
                    }
                    else if (target.GetValueKind() == JsonValueKind.String && !IsIanaServiceName(target.GetValue<string>()))
                    {
                        errors.Add(FieldError.Invalid(path + ".targetPort", target.GetValue<string>(), "must contain at least one letter (a-z)"));
                    }
                }
            }
        }

        ValidateTrafficFields(spec, type, errors);

        if (existing?["spec"] is JsonObject oldSpec && Str(oldSpec, "clusterIP") is { Length: > 0 } oldIp
            && Str(spec, "clusterIP") is { Length: > 0 } newIp && oldIp != newIp && Str(oldSpec, "type") != "ExternalName" && type != "ExternalName")
        {
            errors.Add(FieldError.Invalid("spec.clusterIPs[0]", newIp, "may not change once set"));
        }
    }

    private static void ValidateHints(string path, JsonObject hints, List<FieldError> errors)
    {
        foreach (var (field, isNode) in new[] { ("forZones", false), ("forNodes", true) })
        {
            if (hints[field] is not JsonArray entries)
            {
                continue;
            }

            if (entries.Count > 8)
            {
                errors.Add(FieldError.TooMany($"{path}.{field}", entries.Count, 8));
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < entries.Count; i++)
            {
                var namePath = $"{path}.{field}[{i}].name";
                var name = Str(entries[i] as JsonObject, "name") ?? "";
                if (!seen.Add(name))
                {
                    errors.Add(FieldError.Duplicate(namePath, name));
                }
                else if (isNode ? !IsDns1123Subdomain(name) : !IsLabelValue(name))
                {
                    errors.Add(FieldError.Invalid(namePath, name, isNode ? Dns1123SubdomainMessage : LabelValueMessage));
                }
            }
        }
    }

    /// <summary>The kube-proxy fields of a Service, as k8s.io/kubernetes pkg/apis/core/validation checks them (v1.33, default feature gates).</summary>
    private static void ValidateTrafficFields(JsonObject spec, string type, List<FieldError> errors)
    {
        var affinity = Str(spec, "sessionAffinity") ?? "None";
        var config = spec["sessionAffinityConfig"];
        if (affinity is not ("None" or "ClientIP"))
        {
            errors.Add(FieldError.NotSupported("spec.sessionAffinity", affinity, ["ClientIP", "None"]));
        }
        else if (affinity == "ClientIP")
        {
            var timeout = config?["clientIP"]?["timeoutSeconds"];
            if (timeout is null)
            {
                errors.Add(FieldError.Required("spec.sessionAffinityConfig.clientIP.timeoutSeconds"));
            }
            else if (!int.TryParse(timeout.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) || seconds is <= 0 or > 86400)
            {
                object shown = int.TryParse(timeout.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : timeout.ToJsonString();
                errors.Add(FieldError.Invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", shown, "must be greater than 0 and less than 86400"));
            }
        }
        else if (config is JsonObject { Count: > 0 })
        {
            errors.Add(FieldError.Invalid("spec.sessionAffinityConfig", config.ToJsonString(), "must not be set when session affinity is None"));
        }

        if (Str(spec, "internalTrafficPolicy") is { } internalPolicy && internalPolicy is not ("Cluster" or "Local"))
        {
            errors.Add(FieldError.NotSupported("spec.internalTrafficPolicy", internalPolicy, ["Cluster", "Local"]));
        }

        if (Str(spec, "externalTrafficPolicy") is { Length: > 0 } externalPolicy)
        {
            if (type is not ("NodePort" or "LoadBalancer") && (spec["externalIPs"] as JsonArray is not { Count: > 0 }))
            {
                errors.Add(FieldError.Invalid("spec.externalTrafficPolicy", externalPolicy, "may only be set for externally-accessible services"));
            }
            else if (externalPolicy is not ("Cluster" or "Local"))
            {
                errors.Add(FieldError.NotSupported("spec.externalTrafficPolicy", externalPolicy, ["Cluster", "Local"]));
            }
        }

        if (Str(spec, "trafficDistribution") is { } distribution && distribution != "PreferClose")
        {
            errors.Add(FieldError.NotSupported("spec.trafficDistribution", distribution, ["PreferClose"]));
        }
    }

    private static void ValidatePortNumber(string path, JsonNode? node, List<FieldError> errors)
    {
        if (node is JsonValue value && int.TryParse(value.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            if (number is < 1 or > 65535)
            {
                errors.Add(FieldError.Invalid(path, number, "must be between 1 and 65535, inclusive"));
            }
        }
        else if (node is null)
        {
            errors.Add(FieldError.Invalid(path, 0, "must be between 1 and 65535, inclusive"));
        }
    }

    private static void ValidateProtocol(string path, string? protocol, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(protocol))
        {
            errors.Add(FieldError.Required(path));
        }
        else if (!Protocols.Contains(protocol))
        {
            errors.Add(FieldError.NotSupported(path, protocol, Protocols));
        }
    }

    private static bool IsLinkLocal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 169 && b[1] == 254;
        }

        return address.IsIPv6LinkLocal;
    }

    private static bool IsLinkLocalMulticast(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return address.AddressFamily == AddressFamily.InterNetwork
            ? b[0] == 224 && b[1] == 0 && b[2] == 0
            : b[0] == 0xff && (b[1] & 0x0f) == 0x02;
    }

    private const string LabelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    private static bool IsLabelValue(string value) => value.Length <= 63 && (value.Length == 0 || LabelValue().IsMatch(value));

    private static string? Str(JsonObject? obj, string key) =>
        obj?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static bool IsDns1123Subdomain(string value) => value.Length is > 0 and <= 253 && Dns1123Subdomain().IsMatch(value);

    public static bool IsDns1123Label(string value) => value.Length is > 0 and <= 63 && Dns1123Label().IsMatch(value);

    public static bool IsDns1035Label(string value) => value.Length is > 0 and <= 63 && Dns1035Label().IsMatch(value);

    private static bool IsIanaServiceName(string value) =>
        value.Length is > 0 and <= 15 && IanaServiceName().IsMatch(value) && value.Any(char.IsAsciiLetterLower) && !value.Contains("--", StringComparison.Ordinal);

    private static bool IsQualifiedName(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        var prefix = slash >= 0 ? key[..slash] : null;
        return name.Length is > 0 and <= 63 && LabelValue().IsMatch(name) && (prefix is null || IsDns1123Subdomain(prefix));
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex("^[-a-z0-9]+$")]
    private static partial Regex IanaServiceName();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex LabelValue();
}
