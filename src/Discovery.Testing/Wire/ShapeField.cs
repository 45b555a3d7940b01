using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>One field of a struct shape.</summary>
/// <param name="Name">The JSON key.</param>
/// <param name="Shape">The shape of the value.</param>
/// <param name="Omit">When the field is left out.</param>
/// <param name="Zero">What an absent <see cref="OmitRule.Always"/> field is written as (null means JSON null).</param>
internal sealed record ShapeField(string Name, JsonShape Shape, OmitRule Omit, Func<JsonNode?>? Zero = null);
