using System.Text;
using System.Text.Json.Nodes;
using Discovery.Testing.Store;

namespace Discovery.Testing.Selectors;

/// <summary>A parsed field selector (<c>metadata.name=x,metadata.namespace!=y</c>).</summary>
internal sealed class FieldSelector
{
    private readonly IReadOnlyList<FieldRequirement> _requirements;

    private FieldSelector(IReadOnlyList<FieldRequirement> requirements) => _requirements = requirements;

    public static FieldSelector Everything { get; } = new([]);

    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>Parses a field selector and checks every field is supported for the type.</summary>
    /// <exception cref="SelectorException">Malformed, or a field the type does not support.</exception>
    public static FieldSelector Parse(string? text, ResourceType type)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Everything;
        }

        var requirements = new List<FieldRequirement>();
        foreach (var term in SplitUnescaped(text, ','))
        {
            if (term.Length == 0)
            {
                continue;
            }

            string field, value;
            bool negated;
            int index;
            if ((index = IndexOfUnescaped(term, "!=")) >= 0)
            {
                (field, value, negated) = (term[..index], term[(index + 2)..], true);
            }
            else if ((index = IndexOfUnescaped(term, "==")) >= 0)
            {
                (field, value, negated) = (term[..index], term[(index + 2)..], false);
            }
            else if ((index = IndexOfUnescaped(term, "=")) >= 0)
            {
                (field, value, negated) = (term[..index], term[(index + 1)..], false);
            }
            else
            {
                throw new SelectorException($"invalid selector: '{text}'; can't understand '{term}'");
            }

            field = field.Trim();
            if (field is not ("metadata.name" or "metadata.namespace") && !type.SupportedFieldLabels.Contains(field))
            {
                throw new SelectorException($"field label not supported: {field}");
            }

            requirements.Add(new FieldRequirement(field, Unescape(value), negated));
        }

        return new FieldSelector(requirements);
    }

    public bool Matches(StoredObject obj)
    {
        foreach (var requirement in _requirements)
        {
            var actual = requirement.Field switch
            {
                "metadata.name" => obj.Name,
                "metadata.namespace" => obj.Namespace,
                _ => ValueAt(obj.Node, requirement.Field),
            };
            if ((actual == requirement.Value) == requirement.Negated)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The metadata.name this selector pins down with '=', if any.</summary>
    public string? ExactName => _requirements.FirstOrDefault(r => r.Field == "metadata.name" && !r.Negated)?.Value;

    private static string ValueAt(JsonObject node, string path)
    {
        JsonNode? current = node;
        foreach (var part in path.Split('.'))
        {
            current = current is JsonObject o ? o[part] : null;
        }

        return current is JsonValue v ? v.ToString() : "";
    }

    private static IEnumerable<string> SplitUnescaped(string text, char separator)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == separator)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }

    private static int IndexOfUnescaped(string text, string token)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (string.CompareOrdinal(text, i, token, 0, token.Length) == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Unescape(string value)
    {
        if (!value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                i++;
            }

            builder.Append(value[i]);
        }

        return builder.ToString();
    }
}
