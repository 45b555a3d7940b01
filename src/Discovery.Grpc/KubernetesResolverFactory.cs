using Grpc.Net.Client.Balancer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Grpc;

/// <summary>
/// The grpc-dotnet <see cref="ResolverFactory"/> of the scheme <c>kubernetes</c>: a channel created for
/// <c>kubernetes:///alpaca-prod.demo:grpc</c> gets the ready pods of the Service <c>alpaca-prod</c> in namespace <c>demo</c>,
/// pushed by the discovery core's watch each time they change, for grpc-dotnet's own balancer (<c>round_robin</c> or
/// <c>pick_first</c>) to connect to.
/// </summary>
/// <remarks>
/// <para>
/// Address forms (kuberesolver's, with the discovery core's host forms): <c>kubernetes:///alpaca-prod</c>,
/// <c>kubernetes:///alpaca-prod:50051</c> (a Service port number), <c>kubernetes:///alpaca-prod.demo:grpc</c> (a port name),
/// <c>kubernetes:///_grpc.alpaca-prod.demo.svc.cluster.local</c>, <c>kubernetes://demo/alpaca-prod:grpc</c>. With no port and
/// several, the port named <c>grpc</c> is used, then <see cref="KubernetesGrpcResolverOptions.DefaultPortName"/>.
/// </para>
/// <para>
/// Every call's <c>:authority</c> is the Service host as written (<c>alpaca-prod.demo</c>, with <c>:50051</c> when a port number
/// was written), not the pod address. When discovery fails the channel gets a failure result with status <c>UNAVAILABLE</c>
/// whose detail is the discovery error's message and whose <see cref="global::Grpc.Core.Status.DebugException"/> is the typed
/// <see cref="DiscoveryException"/>.
/// </para>
/// </remarks>
public sealed class KubernetesResolverFactory : ResolverFactory
{
    /// <summary>The URI scheme this factory serves: <c>kubernetes</c>.</summary>
    public const string SchemeName = "kubernetes";

    /// <summary>
    /// The attribute every address carries with the Kubernetes endpoint behind it (pod name, zone, node), for custom balancers.
    /// </summary>
    public static readonly BalancerAttributesKey<ServiceEndpoint> EndpointKey = new("Discovery.ServiceEndpoint");

    // grpc-dotnet sends this attribute's value as the Host (:authority) of calls to the address; its DNS resolver sets the same.
    internal static readonly BalancerAttributesKey<string> HostOverrideKey = new("HostOverride");

    private readonly IServiceEndpointResolver _resolver;
    private readonly ServiceHostParser _parser;
    private readonly KubernetesGrpcResolverOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory? _loggerFactory;

    /// <summary>Creates the factory.</summary>
    /// <param name="resolver">The endpoint resolver of the discovery core.</param>
    /// <param name="parser">The host parser of the discovery core (default namespace, cluster domain).</param>
    /// <param name="options">The resolver options; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock of the retry delay; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; the channel's logger factory when <see langword="null"/>.</param>
    public KubernetesResolverFactory(
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        KubernetesGrpcResolverOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(parser);
        _resolver = resolver;
        _parser = parser;
        _options = options ?? new KubernetesGrpcResolverOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory;
    }

    /// <inheritdoc/>
    public override string Name => SchemeName;

    /// <inheritdoc/>
    /// <remarks>
    /// A malformed address does not throw here: the channel is created, and its calls fail with <c>UNAVAILABLE</c> and an
    /// <see cref="InvalidServiceNameException"/> saying what is wrong, as for any other discovery failure.
    /// </remarks>
    public override Resolver Create(ResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = (_loggerFactory ?? options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<KubernetesResolver>();
        KubernetesGrpcTarget? target = null;
        DiscoveryException? error = null;
        try
        {
            target = KubernetesGrpcTargetParser.Parse(options.Address, _parser);
        }
        catch (InvalidServiceNameException e)
        {
            error = e;
        }

        return new KubernetesResolver(options.Address, target, error, _resolver, _options, _timeProvider, logger);
    }
}
