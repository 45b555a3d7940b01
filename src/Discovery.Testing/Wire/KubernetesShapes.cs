using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>Go struct layouts (k8s.io/api v0.26) of the types the emulator serves.</summary>
internal static class KubernetesShapes
{
    private static readonly JsonShape Scalar = JsonShape.Any;

    public static JsonShape ObjectReference { get; } = JsonShape.Struct(
        Pointer("kind"), Pointer("namespace"), Pointer("name"), Pointer("uid"), Pointer("apiVersion"), Pointer("resourceVersion"), Pointer("fieldPath"));

    public static JsonShape ObjectMeta { get; } = JsonShape.Struct(
        Empty("name"),
        Empty("generateName"),
        Empty("namespace"),
        Empty("selfLink"),
        Empty("uid"),
        Empty("resourceVersion"),
        Empty("generation"),
        new ShapeField("creationTimestamp", Scalar, OmitRule.Always),
        Pointer("deletionTimestamp"),
        Pointer("deletionGracePeriodSeconds"),
        Empty("labels", JsonShape.Map()),
        Empty("annotations", JsonShape.Map()),
        Empty("ownerReferences", JsonShape.Array(JsonShape.Struct(
            Always("apiVersion", ""), Always("kind", ""), Always("name", ""), Always("uid", ""), Pointer("controller"), Pointer("blockOwnerDeletion")))),
        Empty("finalizers", JsonShape.Array()),
        Empty("managedFields", JsonShape.Array(JsonShape.Struct(
            Empty("manager"), Empty("operation"), Empty("apiVersion"), Pointer("time"), Empty("fieldsType"), Pointer("fieldsV1"), Empty("subresource")))));

    public static JsonShape EndpointSlice { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        Always("addressType", ""),
        NullSlice("endpoints", JsonShape.Array(JsonShape.Struct(
            NullSlice("addresses", JsonShape.Array()),
            Struct("conditions", JsonShape.Struct(Pointer("ready"), Pointer("serving"), Pointer("terminating"))),
            Pointer("hostname"),
            new ShapeField("targetRef", ObjectReference, OmitRule.WhenNull),
            Empty("deprecatedTopology", JsonShape.Map()),
            Pointer("nodeName"),
            Pointer("zone"),
            new ShapeField("hints", JsonShape.Struct(
                Empty("forZones", JsonShape.Array(JsonShape.Struct(Always("name", "")))),
                Empty("forNodes", JsonShape.Array(JsonShape.Struct(Always("name", ""))))), OmitRule.WhenNull)))),
        NullSlice("ports", JsonShape.Array(JsonShape.Struct(Pointer("name"), Pointer("protocol"), Pointer("port"), Pointer("appProtocol")))));

    private static readonly JsonShape EndpointAddress = JsonShape.Struct(
        Always("ip", ""), Empty("hostname"), Pointer("nodeName"), new ShapeField("targetRef", ObjectReference, OmitRule.WhenNull));

    public static JsonShape Endpoints { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        Empty("subsets", JsonShape.Array(JsonShape.Struct(
            Empty("addresses", JsonShape.Array(EndpointAddress)),
            Empty("notReadyAddresses", JsonShape.Array(EndpointAddress)),
            Empty("ports", JsonShape.Array(JsonShape.Struct(Empty("name"), Always("port", 0), Empty("protocol"), Pointer("appProtocol"))))))));

    public static JsonShape Service { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        Struct("spec", JsonShape.Struct(
            Empty("ports", JsonShape.Array(JsonShape.Struct(
                Empty("name"), Empty("protocol"), Pointer("appProtocol"), Always("port", 0), Always("targetPort", 0), Empty("nodePort")))),
            Empty("selector", JsonShape.Map()),
            Empty("clusterIP"),
            Empty("clusterIPs", JsonShape.Array()),
            Empty("type"),
            Empty("externalIPs", JsonShape.Array()),
            Empty("sessionAffinity"),
            Empty("loadBalancerIP"),
            Empty("loadBalancerSourceRanges", JsonShape.Array()),
            Empty("externalName"),
            Empty("externalTrafficPolicy"),
            Empty("healthCheckNodePort"),
            Empty("publishNotReadyAddresses"),
            Pointer("sessionAffinityConfig"),
            Empty("ipFamilies", JsonShape.Array()),
            Pointer("ipFamilyPolicy"),
            Pointer("allocateLoadBalancerNodePorts"),
            Pointer("loadBalancerClass"),
            Pointer("internalTrafficPolicy"),
            Pointer("trafficDistribution"))),
        Struct("status", JsonShape.Struct(
            Struct("loadBalancer", JsonShape.Struct(Empty("ingress", JsonShape.Array()))),
            Empty("conditions", JsonShape.Array()))));

    public static JsonShape Namespace { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        Struct("spec", JsonShape.Struct(Empty("finalizers", JsonShape.Array()))),
        Struct("status", JsonShape.Struct(Empty("phase"), Empty("conditions", JsonShape.Array()))));

    public static JsonShape Node { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        new ShapeField("spec", JsonShape.Any, OmitRule.Always, () => new JsonObject()),
        new ShapeField("status", JsonShape.Any, OmitRule.Always, () => new JsonObject()));

    public static JsonShape Pod { get; } = JsonShape.Struct(
        TypeMeta("kind"),
        TypeMeta("apiVersion"),
        Struct("metadata", ObjectMeta),
        new ShapeField("spec", JsonShape.Any, OmitRule.Always, () => new JsonObject()),
        new ShapeField("status", JsonShape.Any, OmitRule.Always, () => new JsonObject()));

    private static ShapeField TypeMeta(string name) => new(name, Scalar, OmitRule.WhenEmpty);

    private static ShapeField Pointer(string name) => new(name, Scalar, OmitRule.WhenNull);

    private static ShapeField Empty(string name, JsonShape? shape = null) => new(name, shape ?? Scalar, OmitRule.WhenEmpty);

    private static ShapeField Struct(string name, JsonShape shape) => new(name, shape, OmitRule.Always, () => shape.Canonicalize(new JsonObject()));

    private static ShapeField NullSlice(string name, JsonShape shape) => new(name, shape, OmitRule.Always);

    private static ShapeField Always(string name, string zero) => new(name, Scalar, OmitRule.Always, () => JsonValue.Create(zero));

    private static ShapeField Always(string name, int zero) => new(name, Scalar, OmitRule.Always, () => JsonValue.Create(zero));
}
