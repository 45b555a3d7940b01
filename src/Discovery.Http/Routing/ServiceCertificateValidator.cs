using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Discovery.Http;

/// <summary>
/// Lets HTTPS to a pod address accept a certificate issued for any DNS name of the Service the request was for
/// (<c>svc</c>, <c>svc.ns</c>, <c>svc.ns.svc</c>, <c>svc.ns.svc.&lt;domain&gt;</c>), whichever form the URL used.
/// </summary>
/// <remarks>
/// The handler keeps the original host in the Host header, and the sockets handler takes the TLS target host (SNI and name
/// validation) from that header, so the connection is already validated against the host as written; this only widens the
/// accepted names to the Service's other forms. Chain errors are left alone: the inner callback, if any, still decides them.
/// </remarks>
internal sealed class ServiceCertificateValidator
{
    private readonly ServiceHostParser _parser;
    private readonly RemoteCertificateValidationCallback? _innerSockets;
    private readonly Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? _innerClientHandler;

    private ServiceCertificateValidator(
        ServiceHostParser parser,
        RemoteCertificateValidationCallback? innerSockets,
        Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? innerClientHandler)
    {
        _parser = parser;
        _innerSockets = innerSockets;
        _innerClientHandler = innerClientHandler;
    }

    /// <summary>Installs the validation on a primary handler; returns why not when it cannot.</summary>
    public static string? Install(HttpMessageHandler primaryHandler, ServiceHostParser parser)
    {
        switch (primaryHandler)
        {
            case SocketsHttpHandler sockets:
                var current = sockets.SslOptions.RemoteCertificateValidationCallback;
                if (current?.Target is ServiceCertificateValidator)
                {
                    return null;
                }

                sockets.SslOptions.RemoteCertificateValidationCallback = new ServiceCertificateValidator(parser, current, null).ValidateSockets;
                return null;
            case HttpClientHandler handler:
                var existing = handler.ServerCertificateCustomValidationCallback;
                if (existing?.Target is ServiceCertificateValidator)
                {
                    return null;
                }

                try
                {
                    handler.ServerCertificateCustomValidationCallback = new ServiceCertificateValidator(parser, null, existing).ValidateClientHandler;
                    return null;
                }
                catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
                {
                    return e.Message;
                }

            default:
                return null;
        }
    }

    /// <summary>Removes a name mismatch from <paramref name="errors"/> when the certificate is valid for a DNS name of the Service <paramref name="host"/> names.</summary>
    public SslPolicyErrors Adjust(string? host, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 || host is null || certificate is null)
        {
            return errors;
        }

        var colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(']', StringComparison.Ordinal) < 0)
        {
            host = host[..colon];
        }

        var parsed = _parser.Parse(host);
        if (parsed.Match is not (ServiceHostMatch.Service or ServiceHostMatch.ServiceIfExists))
        {
            return errors;
        }

        var name = parsed.Service.Name;
        var ns = parsed.Service.Namespace;
        string[] names = [name, $"{name}.{ns}", $"{name}.{ns}.svc", $"{name}.{ns}.svc.{_parser.ClusterDomain.TrimEnd('.')}"];
        var certificate2 = certificate as X509Certificate2;
        var owned = certificate2 is null;
        certificate2 ??= new X509Certificate2(certificate);
        try
        {
            foreach (var candidate in names)
            {
                if (certificate2.MatchesHostname(candidate))
                {
                    return errors & ~SslPolicyErrors.RemoteCertificateNameMismatch;
                }
            }
        }
        finally
        {
            if (owned)
            {
                certificate2.Dispose();
            }
        }

        return errors;
    }

    private bool ValidateSockets(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        errors = Adjust((sender as SslStream)?.TargetHostName, certificate, errors);
        return _innerSockets is null ? errors == SslPolicyErrors.None : _innerSockets(sender, certificate, chain, errors);
    }

    private bool ValidateClientHandler(HttpRequestMessage request, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        errors = Adjust(request.Headers.Host ?? request.RequestUri?.Host, certificate, errors);
        return _innerClientHandler is null ? errors == SslPolicyErrors.None : _innerClientHandler(request, certificate, chain, errors);
    }
}
