namespace Discovery.Testing.Selectors;

/// <summary>One <c>field=value</c> or <c>field!=value</c> term of a field selector.</summary>
internal sealed record FieldRequirement(string Field, string Value, bool Negated);
