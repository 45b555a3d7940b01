using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>RFC 7386 JSON merge patch.</summary>
internal static class MergePatch
{
    /// <summary>Returns <paramref name="target"/> with <paramref name="patch"/> merged in (the target is modified and returned).</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        if (target is not JsonObject targetObject)
        {
            targetObject = [];
        }

        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                targetObject.Remove(key);
            }
            else
            {
                targetObject.TryGetPropertyValue(key, out var existing);
                var merged = Apply(existing, value);
                if (existing is not null && ReferenceEquals(merged, existing))
                {
                    continue;
                }

                targetObject[key] = merged is not null && merged.Parent is not null ? merged.DeepClone() : merged;
            }
        }

        return targetObject;
    }
}
