using System.Globalization;
using System.Text.RegularExpressions;

namespace Discovery.Testing.Selectors;

/// <summary>A parsed label selector (<c>a=b,c!=d,e in (f,g),!h</c>); all requirements must hold.</summary>
internal sealed partial class LabelSelector
{
    private readonly IReadOnlyList<LabelRequirement> _requirements;

    private LabelSelector(IReadOnlyList<LabelRequirement> requirements) => _requirements = requirements;

    public static LabelSelector Everything { get; } = new([]);

    public bool IsEmpty => _requirements.Count == 0;

    public IReadOnlyList<LabelRequirement> Requirements => _requirements;

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var requirement in _requirements)
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses the selector syntax of k8s.io/apimachinery/pkg/labels.</summary>
    /// <exception cref="SelectorException">The selector is malformed.</exception>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        var parser = new Parser(text);
        var requirements = new List<LabelRequirement>();
        while (true)
        {
            requirements.Add(parser.ParseRequirement());
            parser.SkipSpaces();
            if (parser.AtEnd)
            {
                break;
            }

            parser.Expect(',');
        }

        return new LabelSelector(requirements);
    }

    private static void ValidateKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        var prefix = slash >= 0 ? key[..slash] : null;
        if (name.Length is 0 or > 63 || !QualifiedName().IsMatch(name) || (prefix is not null && (prefix.Length is 0 or > 253 || !DnsSubdomain().IsMatch(prefix))))
        {
            throw new SelectorException($"unable to parse requirement: key: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
        }
    }

    private static void ValidateValue(string key, string value)
    {
        if (value.Length > 63 || (value.Length > 0 && !QualifiedName().IsMatch(value)))
        {
            throw new SelectorException($"unable to parse requirement: values[0][{key}]: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
        }
    }

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    private sealed class Parser(string text)
    {
        private int _position;

        public bool AtEnd => _position >= text.Length;

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        public void Expect(char c)
        {
            SkipSpaces();
            if (AtEnd || text[_position] != c)
            {
                throw new SelectorException($"unable to parse requirement: found '{Rest()}', expected: '{c}'");
            }

            _position++;
        }

        public LabelRequirement ParseRequirement()
        {
            SkipSpaces();
            if (!AtEnd && text[_position] == '!')
            {
                _position++;
                var notKey = ReadWord();
                ValidateKey(notKey);
                return new LabelRequirement(notKey, LabelOperator.DoesNotExist, []);
            }

            var key = ReadWord();
            if (key.Length == 0)
            {
                throw new SelectorException($"unable to parse requirement: found '{Rest()}', expected: identifier");
            }

            ValidateKey(key);
            SkipSpaces();
            if (AtEnd || text[_position] == ',')
            {
                return new LabelRequirement(key, LabelOperator.Exists, []);
            }

            LabelOperator op;
            if (Consume("==") || Consume("="))
            {
                op = LabelOperator.Equals;
            }
            else if (Consume("!="))
            {
                op = LabelOperator.NotEquals;
            }
            else if (Consume(">"))
            {
                op = LabelOperator.GreaterThan;
            }
            else if (Consume("<"))
            {
                op = LabelOperator.LessThan;
            }
            else if (ConsumeKeyword("notin"))
            {
                op = LabelOperator.NotIn;
            }
            else if (ConsumeKeyword("in"))
            {
                op = LabelOperator.In;
            }
            else
            {
                throw new SelectorException($"unable to parse requirement: found '{Rest()}', expected: in, notin, =, ==, !=, gt, lt");
            }

            if (op is LabelOperator.In or LabelOperator.NotIn)
            {
                Expect('(');
                var values = new List<string>();
                while (true)
                {
                    var value = ReadWord();
                    ValidateValue(key, value);
                    values.Add(value);
                    SkipSpaces();
                    if (!AtEnd && text[_position] == ')')
                    {
                        _position++;
                        break;
                    }

                    Expect(',');
                }

                return new LabelRequirement(key, op, values);
            }

            var single = ReadWord();
            if (op is LabelOperator.GreaterThan or LabelOperator.LessThan)
            {
                if (!long.TryParse(single, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                {
                    throw new SelectorException($"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer");
                }
            }
            else
            {
                ValidateValue(key, single);
            }

            return new LabelRequirement(key, op, [single]);
        }

        private bool Consume(string token)
        {
            SkipSpaces();
            if (string.CompareOrdinal(text, _position, token, 0, token.Length) == 0)
            {
                _position += token.Length;
                return true;
            }

            return false;
        }

        private bool ConsumeKeyword(string keyword)
        {
            SkipSpaces();
            var end = _position + keyword.Length;
            if (string.CompareOrdinal(text, _position, keyword, 0, keyword.Length) == 0 && (end >= text.Length || char.IsWhiteSpace(text[end]) || text[end] == '('))
            {
                _position = end;
                return true;
            }

            return false;
        }

        private string ReadWord()
        {
            SkipSpaces();
            var start = _position;
            while (!AtEnd && !char.IsWhiteSpace(text[_position]) && text[_position] is not (',' or '=' or '!' or '(' or ')' or '<' or '>'))
            {
                _position++;
            }

            return text[start.._position];
        }

        private string Rest() => AtEnd ? "" : text[_position..];
    }
}
