using Grpc.Net.ClientFactory;
using Microsoft.Extensions.Options;

namespace Discovery.Grpc;

/// <summary>
/// Lets an <c>AddGrpcClient</c> client on a <c>kubernetes:</c> address use grpc-dotnet's balancer in an app that also registered
/// Discovery.Http's <c>AddKubernetesDiscovery()</c>.
/// </summary>
/// <remarks>
/// Discovery.Http's handler switches grpc-dotnet's balancing off on the clients it serves (property
/// <c>__GrpcLoadBalancingDisabled</c>), so that a channel on <c>http://_grpc.alpaca-prod</c> sends each call through the handler.
/// A <c>kubernetes:</c> channel cannot work that way (grpc-dotnet refuses to create it), and needs no handler to pick pods: for
/// those clients the property is switched back on — only where Discovery.Http set it, never where the app or
/// Microsoft.Extensions.ServiceDiscovery did. The handler then sees pod addresses, which it passes through untouched.
/// </remarks>
internal sealed class KubernetesGrpcClientFactoryOptionsSetup : IPostConfigureOptions<GrpcClientFactoryOptions>
{
    private const string LoadBalancingDisabled = "__GrpcLoadBalancingDisabled";
    private const string DisabledByDiscovery = "Discovery.GrpcLoadBalancingDisabled";

    public void PostConfigure(string? name, GrpcClientFactoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.Equals(options.Address?.Scheme, KubernetesResolverFactory.SchemeName, StringComparison.OrdinalIgnoreCase))
        {
            options.ChannelOptionsActions.Add(static channel =>
            {
                if (FindSocketsHandler(channel.HttpHandler) is { } sockets
                    && sockets.Properties.TryGetValue(DisabledByDiscovery, out var marker) && marker is true)
                {
                    sockets.Properties[LoadBalancingDisabled] = false;
                }
            });
        }
    }

    private static SocketsHttpHandler? FindSocketsHandler(HttpMessageHandler? handler)
    {
        while (true)
        {
            switch (handler)
            {
                case SocketsHttpHandler sockets:
                    return sockets;
                case DelegatingHandler delegating:
                    handler = delegating.InnerHandler;
                    break;
                default:
                    return null;
            }
        }
    }
}
