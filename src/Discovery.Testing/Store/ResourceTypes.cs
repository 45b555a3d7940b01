using Discovery.Testing.Wire;
using k8s.Models;

namespace Discovery.Testing.Store;

/// <summary>The resources the emulator serves.</summary>
internal static class ResourceTypes
{
    public static ResourceType Namespaces { get; } = new(
        "namespaces", "Namespace", "", namespaced: false, KubernetesShapes.Namespace, typeof(V1Namespace),
        hasGeneration: false, deleteReturnsObject: true, allowCreateOnUpdate: false, ["ns"], ["status.phase"]);

    public static ResourceType Services { get; } = new(
        "services", "Service", "", namespaced: true, KubernetesShapes.Service, typeof(V1Service),
        hasGeneration: false, deleteReturnsObject: true, allowCreateOnUpdate: true, ["svc"], []);

    public static ResourceType Endpoints { get; } = new(
        "endpoints", "Endpoints", "", namespaced: true, KubernetesShapes.Endpoints, typeof(V1Endpoints),
        hasGeneration: false, deleteReturnsObject: false, allowCreateOnUpdate: true, ["ep"], []);

    public static ResourceType Pods { get; } = new(
        "pods", "Pod", "", namespaced: true, KubernetesShapes.Pod, typeof(V1Pod),
        hasGeneration: false, deleteReturnsObject: true, allowCreateOnUpdate: false, ["po"],
        ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"]);

    public static ResourceType EndpointSlices { get; } = new(
        "endpointslices", "EndpointSlice", "discovery.k8s.io", namespaced: true, KubernetesShapes.EndpointSlice, typeof(V1EndpointSlice),
        hasGeneration: true, deleteReturnsObject: false, allowCreateOnUpdate: false, [], []);

    /// <summary>Nodes: discovery reads a node's zone label and addresses (cluster-scoped; status kept as applied).</summary>
    public static ResourceType Nodes { get; } = new(
        "nodes", "Node", "", namespaced: false, KubernetesShapes.Node, typeof(V1Node),
        hasGeneration: false, deleteReturnsObject: true, allowCreateOnUpdate: false, ["no"], ["spec.unschedulable"]);

    public static IReadOnlyList<ResourceType> All { get; } = [Namespaces, Services, Endpoints, Pods, EndpointSlices, Nodes];

    /// <summary>Finds a resource by API group and plural name.</summary>
    public static ResourceType? Find(string group, string plural)
    {
        foreach (var type in All)
        {
            if (type.Group == group && type.Plural == plural)
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>Finds the resource served for a KubernetesClient model type.</summary>
    public static ResourceType ForModel(Type modelType)
    {
        foreach (var type in All)
        {
            if (type.ModelType == modelType)
            {
                return type;
            }
        }

        throw new ArgumentException($"The emulator does not serve {modelType.Name}; supported: V1Namespace, V1Service, V1Endpoints, V1EndpointSlice, V1Pod, V1Node.", nameof(modelType));
    }
}
