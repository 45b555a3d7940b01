namespace Discovery.Testing.Validation;

/// <summary>One validation failure, formatted like k8s.io/apimachinery's field.Error.</summary>
/// <param name="Reason">The cause reason (<c>FieldValueInvalid</c>, <c>FieldValueRequired</c>, ...).</param>
/// <param name="Field">The field path, e.g. <c>endpoints[0].addresses[0]</c>.</param>
/// <param name="Detail">The message without the field, e.g. <c>Invalid value: "x": must be ...</c>.</param>
internal sealed record FieldError(string Reason, string Field, string Detail)
{
    public static FieldError Invalid(string field, object? value, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: {Quote(value)}: {detail}");

    public static FieldError Required(string field, string? detail = null) =>
        new("FieldValueRequired", field, string.IsNullOrEmpty(detail) ? "Required value" : $"Required value: {detail}");

    public static FieldError NotSupported(string field, object? value, IEnumerable<string> supported) =>
        new("FieldValueNotSupported", field, $"Unsupported value: {Quote(value)}: supported values: {string.Join(", ", supported.Select(s => Quote(s)))}");

    public static FieldError Duplicate(string field, object? value) =>
        new("FieldValueDuplicate", field, $"Duplicate value: {Quote(value)}");

    public static FieldError TooMany(string field, int actual, int max) =>
        new("FieldValueTooMany", field, $"Too many: {actual}: must have at most {max} items");

    public static FieldError TooLong(string field, int max) =>
        new("FieldValueTooLong", field, $"Too long: must have at most {max} bytes");

    public static FieldError Forbidden(string field, string detail) =>
        new("FieldValueForbidden", field, $"Forbidden: {detail}");

    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Detail}";

    private static string Quote(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
