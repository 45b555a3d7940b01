using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// One requirement of a Kubernetes label selector (<c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k</c>, <c>!k</c>,
/// <c>k in (a,b)</c>, <c>k notin (a,b)</c>), for checking delivered objects on the client side.
/// </summary>
internal sealed class LabelTerm
{
    private readonly string _text;
    private readonly string _key;
    private readonly Operator _operator;
    private readonly ImmutableArray<string> _values;

    private LabelTerm(string text, string key, Operator op, ImmutableArray<string> values)
    {
        _text = text;
        _key = key;
        _operator = op;
        _values = values;
    }

    private enum Operator
    {
        Equals,
        NotEquals,
        Exists,
        DoesNotExist,
        In,
        NotIn,
    }

    /// <summary>
    /// Parses the requirements of <paramref name="selector"/>. A term this parser does not understand is left out: the
    /// server applied it anyway, and checking less is better than rejecting objects the server rightly selected.
    /// </summary>
    public static ImmutableArray<LabelTerm> Parse(string selector)
    {
        var terms = ImmutableArray.CreateBuilder<LabelTerm>();
        foreach (var raw in SplitTopLevel(selector))
        {
            if (TryParse(raw.Trim(), out var term))
            {
                terms.Add(term);
            }
        }

        return terms.ToImmutable();
    }

    public bool Matches(IDictionary<string, string>? labels)
    {
        string? value = null;
        var has = labels is not null && labels.TryGetValue(_key, out value);
        return _operator switch
        {
            Operator.Equals => has && string.Equals(value, _values[0], StringComparison.Ordinal),
            Operator.NotEquals => !has || !string.Equals(value, _values[0], StringComparison.Ordinal),
            Operator.Exists => has,
            Operator.DoesNotExist => !has,
            Operator.In => has && _values.Contains(value!, StringComparer.Ordinal),
            _ => !has || !_values.Contains(value!, StringComparer.Ordinal),
        };
    }

    public override string ToString() => _text;

    private static bool TryParse(string text, out LabelTerm term)
    {
        term = null!;
        if (text.Length == 0)
        {
            return false;
        }

        if (text.Contains('(', StringComparison.Ordinal))
        {
            var open = text.IndexOf('(', StringComparison.Ordinal);
            if (!text.EndsWith(')'))
            {
                return false;
            }

            var head = text[..open].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (head.Length != 2 || head[1] is not ("in" or "notin"))
            {
                return false;
            }

            var values = text[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries).ToImmutableArray();
            term = new LabelTerm(text, head[0], head[1] == "in" ? Operator.In : Operator.NotIn, values);
            return true;
        }

        var (separator, op) = text.Contains("!=", StringComparison.Ordinal) ? ("!=", Operator.NotEquals)
            : text.Contains("==", StringComparison.Ordinal) ? ("==", Operator.Equals)
            : text.Contains('=', StringComparison.Ordinal) ? ("=", Operator.Equals)
            : (null, Operator.Exists);
        if (separator is null)
        {
            var negated = text.StartsWith('!');
            var key = negated ? text[1..].Trim() : text;
            if (key.Length == 0 || key.Contains(' ', StringComparison.Ordinal))
            {
                return false;
            }

            term = new LabelTerm(text, key, negated ? Operator.DoesNotExist : Operator.Exists, []);
            return true;
        }

        var at = text.IndexOf(separator, StringComparison.Ordinal);
        var name = text[..at].Trim();
        var expected = text[(at + separator.Length)..].Trim();
        if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal) || expected.Contains('=', StringComparison.Ordinal))
        {
            return false;
        }

        term = new LabelTerm(text, name, op, [expected]);
        return true;
    }

    private static List<string> SplitTopLevel(string selector)
    {
        // Commas separate requirements, except inside the value list of in/notin.
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            switch (selector[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth = Math.Max(0, depth - 1);
                    break;
                case ',' when depth == 0:
                    parts.Add(selector[start..i]);
                    start = i + 1;
                    break;
            }
        }

        parts.Add(selector[start..]);
        return parts;
    }
}
