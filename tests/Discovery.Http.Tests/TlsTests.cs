using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

public sealed class TlsTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    private static X509Certificate2 CreateCertificate(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private static TestServices Create(X509Certificate2 trusted, bool serviceNames = true)
        => TestServices.Create(s => s.AddHttpClient("tls")
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                SslOptions =
                {
                    // Trusts this test's self-signed certificate, and only for a chain error: a name error still fails.
                    RemoteCertificateValidationCallback = (_, certificate, _, errors) => errors == SslPolicyErrors.None
                        || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate?.GetCertHashString() == trusted.GetCertHashString()),
                },
            })
            .AddKubernetesDiscovery(o => o.ValidateCertificateAgainstServiceNames = serviceNames));

    private static KubernetesServiceInfo HttpsService()
        => FakeEndpointResolver.ServiceInfo(new ServicePortInfo("https", 443, "https", "TCP", null, null));

    [Theory]
    [InlineData("https://alpaca-prod/")]
    [InlineData("https://alpaca-prod.default.svc/")]
    [InlineData("https://alpaca-prod.default.svc.cluster.local/")]
    public async Task Https_to_a_pod_address_validates_the_certificate_against_the_service_name(string url)
    {
        using var certificate = CreateCertificate("alpaca-prod.default.svc");
        await using var backend = await Backend.StartAsync("tls-pod", certificate);
        await using var services = Create(certificate);
        services.Resolver.Publish(Alpaca, HttpsService(), FakeEndpointResolver.Endpoint(backend, portName: "https"));

        using var response = await services.Client("tls").GetAsync(url, TestContext.Current.CancellationToken);

        Assert.Equal("tls-pod", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var host = new Uri(url).Host;
        Assert.Equal(host, backend.LastServerName);
        Assert.Equal(host, backend.LastHost);
    }

    [Fact]
    public async Task A_certificate_for_another_name_is_refused()
    {
        using var certificate = CreateCertificate("beta-prod.default.svc");
        await using var backend = await Backend.StartAsync("tls-pod", certificate);
        await using var services = Create(certificate);
        services.Resolver.Publish(Alpaca, HttpsService(), FakeEndpointResolver.Endpoint(backend, portName: "https"));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => services.Client("tls").GetAsync("https://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(HttpRequestError.SecureConnectionError, error.HttpRequestError);
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task Without_service_name_validation_only_the_host_as_written_matches()
    {
        using var certificate = CreateCertificate("alpaca-prod.default.svc");
        await using var backend = await Backend.StartAsync("tls-pod", certificate);
        await using var services = Create(certificate, serviceNames: false);
        services.Resolver.Publish(Alpaca, HttpsService(), FakeEndpointResolver.Endpoint(backend, portName: "https"));
        var client = services.Client("tls");

        using var exact = await client.GetAsync("https://alpaca-prod.default.svc/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("https://alpaca-prod/", TestContext.Current.CancellationToken));
    }
}
