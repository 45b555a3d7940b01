using System.Collections.Immutable;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// Checks on the client side that an object matches the query it was delivered for: namespace, <c>metadata.name</c>
/// field selector and label selector. The server applies them, but a misbehaving server, proxy or emulator that does not
/// would otherwise merge another Service's endpoints into this one's — a misroute.
/// </summary>
internal sealed class ObjectFilter
{
    private readonly string _namespace;
    private readonly string? _name;
    private readonly ImmutableArray<LabelTerm> _terms;

    public ObjectFilter(ResourceQuery query)
    {
        _namespace = query.Namespace;
        const string namePrefix = "metadata.name=";
        _name = query.FieldSelector is { } field && field.StartsWith(namePrefix, StringComparison.Ordinal) ? field[namePrefix.Length..] : null;
        _terms = query.LabelSelector is { } selector ? LabelTerm.Parse(selector) : [];
    }

    /// <summary>
    /// Why <paramref name="metadata"/> does not belong to the query, or <see langword="null"/> when it does.
    /// <paramref name="otherObject"/> tells a different object (another namespace: leave a same-named one alone) from the
    /// same object that no longer matches (a relabelled slice: what was held under its name is no longer this Service's).
    /// </summary>
    public string? Reject(V1ObjectMeta metadata, out bool otherObject)
    {
        otherObject = false;

        // An absent namespace is the server speaking of the namespace it was asked about; only a different one is foreign.
        if (metadata.NamespaceProperty is { Length: > 0 } ns && !string.Equals(ns, _namespace, StringComparison.Ordinal))
        {
            otherObject = true;
            return $"it is in namespace '{ns}', not '{_namespace}'";
        }

        if (_name is not null && !string.Equals(metadata.Name, _name, StringComparison.Ordinal))
        {
            otherObject = true;
            return $"it is named '{metadata.Name}', not '{_name}'";
        }

        foreach (var term in _terms)
        {
            if (!term.Matches(metadata.Labels))
            {
                return $"its labels do not match the selector '{term}'";
            }
        }

        return null;
    }
}
