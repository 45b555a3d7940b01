using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.TestSupport;

/// <summary>How a <see cref="LoopbackPod"/> listens and what it serves.</summary>
public sealed class LoopbackPodOptions
{
    /// <summary>The loopback address to listen on; the next of <see cref="LoopbackAddresses"/> when null.</summary>
    public string? Address { get; set; }

    /// <summary>The port; 0 lets the system pick a free one.</summary>
    public int Port { get; set; }

    /// <summary>HTTP/1.1 and HTTP/2 by default; <see cref="HttpProtocols.Http2"/> alone for h2c (gRPC without TLS).</summary>
    public HttpProtocols Protocols { get; set; } = HttpProtocols.Http1AndHttp2;

    /// <summary>When set, the pod serves TLS with this certificate and records each handshake's server name.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Kestrel's cap on concurrent connections (load scenarios raise it); Kestrel's default when null.</summary>
    public long? MaxConcurrentConnections { get; set; }

    /// <summary>How long stopping waits for requests in flight; the host's default when null.</summary>
    public TimeSpan? ShutdownTimeout { get; set; }

    /// <summary>Adds services the app needs (gRPC, routing).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>
    /// Builds the app's own pipeline (e.g. maps gRPC services) in place of the default answer. Requests are counted and
    /// recorded before it runs.
    /// </summary>
    public Action<WebApplication>? ConfigureApp { get; set; }
}
