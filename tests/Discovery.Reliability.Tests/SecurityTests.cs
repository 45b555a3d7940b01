using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Discovery.Testing;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Reliability.Tests;

/// <summary>Scenario 8: the allow-list, secrets in logs, and TLS names.</summary>
public sealed class SecurityTests
{
    [Fact]
    public async Task Requests_to_namespaces_outside_the_allow_list_go_nowhere()
    {
        var figures = new Figures("8a. Namespace allow-list");
        await using var emulator = await Cluster.StartEmulatorAsync();
        await using var pods = await PodPool.StartAsync(subnet: 8, count: 2);
        emulator.ApplyServiceWithEndpoints("default", "alpaca", pods.Port, [pods.Pods[0].Address], withEndpoints: false);
        emulator.ApplyServiceWithEndpoints("other", "alpaca", pods.Port, [pods.Pods[1].Address], withEndpoints: false);
        var connects = new ConcurrentQueue<string>();
        await using var stack = DiscoveryStack.Create(emulator.CreateClient(), o => o.AllowedNamespaces.Add("default"), connect: async (context, token) =>
        {
            connects.Enqueue(context.DnsEndPoint.Host);
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        });

        using var allowed = await stack.Client.GetAsync(new Uri($"http://alpaca:{pods.Port}/"), TestContext.Current.CancellationToken);
        Assert.True(allowed.IsSuccessStatusCode);
        connects.Clear();
        emulator.ClearRequests();

        string[] hosts = ["alpaca.other", "alpaca.other.svc", "alpaca.other.svc.cluster.local", "alpaca.other.svc.cluster.local.", "_http.alpaca.other.svc", "ALPACA.OTHER.SVC"];
        var outcomes = new List<(string Host, string Outcome)>();
        foreach (var host in hosts)
        {
            try
            {
                using var response = await stack.Client.GetAsync(new Uri($"http://{host}/"), TestContext.Current.CancellationToken);
                outcomes.Add((host, $"ANSWERED {(int)response.StatusCode}"));
            }
            catch (HttpRequestException e)
            {
                outcomes.Add((host, $"refused: {e.GetType().Name}" + (e.InnerException is { } inner ? $" ← {inner.GetType().Name}" : "")));
            }
        }

        var apiRequestsForOther = emulator.Requests.Count(r => r.Path.Contains("/namespaces/other/", StringComparison.Ordinal));
        var podReached = pods.Pods[1].Requests;
        foreach (var (host, outcome) in outcomes)
        {
            figures.Add($"http://{host}/", outcome);
        }

        figures
            .Add("connections attempted for those requests (DNS pass-through included)", connects.IsEmpty ? "none" : string.Join(", ", connects.Distinct()))
            .Add("API requests into namespace 'other'", apiRequestsForOther)
            .Add("requests that reached the pod of other/alpaca", podReached)
            .Publish();

        Assert.All(outcomes, o => Assert.StartsWith("refused", o.Outcome, StringComparison.Ordinal));
        Assert.Equal(0, apiRequestsForOther);
        Assert.Equal(0, podReached);
        // "alpaca.other" has the shape of an external name (like example.com), so it may go to DNS, but only as the absolute
        // name "alpaca.other.", which the pod's DNS search list cannot expand into the Service alpaca of namespace other.
        Assert.Equal(["alpaca.other."], connects.Distinct());
    }

    [Fact]
    public async Task No_token_or_certificate_material_appears_in_any_log_line()
    {
        var figures = new Figures("8b. Secrets in logs");
        const string token = "s3cr3t-T0KEN-do-not-log-7f1c2a";
        await using var emulator = await Cluster.StartEmulatorAsync(o => o.RequiredBearerToken = token);
        emulator.ApplyServiceWithEndpoints("default", "logged", 8080, ["127.77.8.50"], withEndpoints: false);
        emulator.Access.Deny("forbidden-ns", "services", "list");

        using var certificate = SelfSigned("client.example");
        var certPem = certificate.ExportCertificatePem();
        var keyPem = certificate.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem();
        var certData = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(certPem));
        var keyData = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(keyPem));
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"reliability-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: emulator
              cluster:
                server: {emulator.BaseAddress.ToString().TrimEnd('/')}
            contexts:
            - name: emulator
              context:
                cluster: emulator
                user: emulator
                namespace: default
            current-context: emulator
            users:
            - name: emulator
              user:
                token: "{token}"
                client-certificate-data: {certData}
                client-key-data: {keyData}
            """, TestContext.Current.CancellationToken);

        using var logs = new CapturedLogs();
        var services = new ServiceCollection();
        // (AddKubernetesDiscovery binds configuration and throws without an IConfiguration: a host always has one.)
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(logs.Factory);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace));
        services.AddKubernetesEndpointResolver(o =>
        {
            o.KubeconfigPath = kubeconfig;
            o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(20);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(200);
            o.InitialSyncTimeout = TimeSpan.FromSeconds(3);
        });
        services.AddKubernetesDiscovery();
        var exercised = new List<string>();
        Exception? forbidden;
        Exception? unknown;
        Exception? afterRotation;
        int outageFailures;
        try
        {
            await using var provider = services.BuildServiceProvider();
            var resolver = provider.GetRequiredService<IServiceEndpointResolver>();
            var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient();

            // A sync, a 403, an unknown Service, an outage with reconnects, then a wrong token (401) on reconnect.
            // InitialSyncTimeout is short (3 s) so that the lookup after the rotation fails quickly; on a loaded machine the
            // very first sync (kubeconfig, client, first JIT) can take longer, and the watcher goes on syncing meanwhile.
            var synced = await SyncedAsync(resolver, Cluster.Key("logged"));
            exercised.Add(synced.ToString());
            Assert.Single(synced.UsableEndpoints);
            forbidden = await Failure(() => resolver.GetSnapshotAsync(new ServiceKey("forbidden-ns", "x"), TestContext.Current.CancellationToken).AsTask());
            exercised.Add(Describe(forbidden));
            unknown = await Failure(() => client.GetAsync(new Uri("http://no-such-service/"), TestContext.Current.CancellationToken));
            exercised.Add(Describe(unknown));

            int ReadFailures() => logs.Records.Count(r => r.Message.Contains("failed (attempt", StringComparison.Ordinal));
            var failuresBefore = ReadFailures();
            await emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);
            await Eventually.True(() => ReadFailures() >= failuresBefore + 2, "the watcher logs failed reconnects during the outage", TimeSpan.FromSeconds(30));
            outageFailures = ReadFailures() - failuresBefore;
            emulator.Access.RequiredBearerToken = "rotated-" + Guid.NewGuid().ToString("N");
            await emulator.Faults.EndOutageAsync();
            await Eventually.True(() => logs.Records.Any(r => CapturedLogs.FullText(r).Contains("401", StringComparison.Ordinal)), "a reconnect is refused with 401 and logged", TimeSpan.FromSeconds(30));
            afterRotation = await Failure(() => resolver.GetSnapshotAsync(Cluster.Key("after-rotation"), TestContext.Current.CancellationToken).AsTask());
            exercised.Add(Describe(afterRotation));
        }
        finally
        {
            File.Delete(kubeconfig);
        }

        var records = logs.Records;
        var secrets = new[] { token, certData, keyData, "PRIVATE KEY", "BEGIN CERTIFICATE", certData[..24], keyData[..24], Base64Middle(keyPem) };
        var leaks = records.Select(CapturedLogs.FullText).Where(text => secrets.Any(s => text.Contains(s, StringComparison.Ordinal))).ToArray();
        figures
            .Add("log records captured (Trace and up)", records.Count)
            .Add("levels seen", string.Join(", ", records.GroupBy(r => r.Level).Select(g => $"{g.Key} {g.Count()}")))
            .Add("situations exercised", "sync, 403, unknown Service, outage with reconnects, 401 after token rotation")
            .Add("outcomes", string.Join(" | ", exercised))
            .Add("records containing the token, certificate or key material (message, state, exception with inner ones)", leaks.Length)
            .Publish();

        Assert.Empty(leaks);
        Assert.True(records.Count > 5, "too few log records: the scenario did not exercise the logging");

        // Each situation really happened (an unexpected outcome would leave its log lines unexercised).
        var denied = Assert.IsType<KubernetesForbiddenException>(forbidden);
        Assert.Equal("services", denied.Resource);
        Assert.IsType<ServiceNotFoundException>(Assert.IsType<Discovery.Http.DiscoveryHttpRequestException>(unknown).InnerException);
        Assert.True(outageFailures >= 2, $"{outageFailures} failed reconnects logged during the outage");
        var unavailable = Assert.IsType<KubernetesApiUnavailableException>(afterRotation);
        Assert.StartsWith("The Kubernetes API answered 401", unavailable.InnerException?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pod_certificate_not_for_the_service_name_is_refused()
    {
        var figures = new Figures("8c. TLS name validation");
        using var good = SelfSigned("tls-good.default.svc");
        using var bad = SelfSigned("evil.example");
        await using var emulator = await Cluster.StartEmulatorAsync();
        await using var goodPod = await Pod.StartAsync("127.77.8.100", 0, good);
        await using var badPod = await Pod.StartAsync("127.77.8.101", 0, bad);
        emulator.ApplyServiceWithEndpoints("default", "tls-good", goodPod.Port, [goodPod.Address], portName: "https", withEndpoints: false);
        emulator.ApplyServiceWithEndpoints("default", "tls-bad", badPod.Port, [badPod.Address], portName: "https", withEndpoints: false);

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton<IKubernetes>(emulator.CreateClient());
        services.AddKubernetesDiscovery(o => o.Namespace = "default");
        // Trust the self-signed test certificates (chain errors only); the name check stays the product's.
        services.AddHttpClient("tls").ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None },
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("tls");

        using var goodResponse = await client.GetAsync(new Uri("https://tls-good/"), TestContext.Current.CancellationToken);
        var goodOutcome = $"HTTP {(int)goodResponse.StatusCode}";
        var badFailure = await Failure(() => client.GetAsync(new Uri("https://tls-bad/"), TestContext.Current.CancellationToken));
        var badOutcome = Describe(badFailure);
        figures
            .Add("https://tls-good/ → pod certificate for tls-good.default.svc", goodOutcome)
            .Add("https://tls-bad/ → pod certificate for evil.example", badOutcome)
            .Add("requests the mismatched pod served", badPod.Requests)
            .Publish();

        Assert.Equal(System.Net.HttpStatusCode.OK, goodResponse.StatusCode);

        // Refused for the name, in the TLS handshake: an AuthenticationException under the HttpRequestException, and the
        // pod never saw a request (a refused connection or a timeout would be another failure, not this one).
        var refused = Assert.IsAssignableFrom<HttpRequestException>(badFailure);
        Assert.IsType<System.Security.Authentication.AuthenticationException>(refused.InnerException);
        Assert.Equal(0, badPod.Requests);
    }

    private static async Task<ServiceEndpointSnapshot> SyncedAsync(IServiceEndpointResolver resolver, ServiceKey key)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return await resolver.GetSnapshotAsync(key, TestContext.Current.CancellationToken);
            }
            catch (KubernetesApiUnavailableException) when (System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
            {
                // Not synced within InitialSyncTimeout yet: ask again.
            }
        }
    }

    /// <summary>The exception <paramref name="action"/> fails with, or null if it succeeds.</summary>
    private static async Task<Exception?> Failure<T>(Func<Task<T>> action)
    {
        try
        {
            var result = await action();
            (result as IDisposable)?.Dispose();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static string Describe(Exception? e)
        => e is null ? "succeeded" : e.GetType().Name + (e.InnerException is { } inner ? $" ← {inner.GetType().Name}" : "");

    private static string Base64Middle(string pem)
    {
        var lines = pem.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines[lines.Length / 2].Trim();
    }

    private static X509Certificate2 SelfSigned(string dnsName)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={dnsName}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
