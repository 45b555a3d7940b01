using System.Net;
using Discovery;
using Discovery.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

// What a customer writes to test their app's discovery without a cluster, built only from the packages:
// the emulator, one backend pod on a loopback address, a Service and its EndpointSlice, and an HttpClient
// calling the Service by name. Exit code 0 when the backend answered.
const string PodName = "alpaca-prod-consumer-1";
const string Namespace = "default";
var podAddress = IPAddress.Parse("127.0.0.31");

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var cancellationToken = timeout.Token;

await using var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), cancellationToken);

var backendBuilder = WebApplication.CreateSlimBuilder();
backendBuilder.Logging.ClearProviders();
backendBuilder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(podAddress, 0));
await using var backend = backendBuilder.Build();
backend.Run(context => context.Response.WriteAsync(PodName, context.RequestAborted));
await backend.StartAsync(cancellationToken);
var podPort = new Uri(backend.Urls.First()).Port;

using (var admin = emulator.CreateClient())
{
    await admin.CoreV1.CreateNamespacedServiceAsync(
        body: new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "alpaca-prod", NamespaceProperty = Namespace },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "alpaca" },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = podPort, Protocol = "TCP" }],
            },
        },
        namespaceParameter: Namespace,
        cancellationToken: cancellationToken);
    await admin.DiscoveryV1.CreateNamespacedEndpointSliceAsync(
        body: new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = "alpaca-prod-abcde",
                NamespaceProperty = Namespace,
                Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "alpaca-prod" },
            },
            AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = [podAddress.ToString()], Conditions = new V1EndpointConditions { Ready = true } }],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = podPort, Protocol = "TCP" }],
        },
        namespaceParameter: Namespace,
        cancellationToken: cancellationToken);
}

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(emulator.CreateClient());
builder.Services.AddKubernetesDiscovery(options =>
{
    options.Namespace = Namespace;
    // The "pod" is a loopback server: connect to endpoint addresses even though this is not a cluster.
    options.AddressMode = AddressMode.PodIP;
});
builder.Services.AddHttpClient("alpaca", http => http.BaseAddress = new Uri("http://alpaca-prod/"));
builder.Services.AddKubernetesGrpcResolver();

// The adapters read the same watch: Aspire's service discovery (MESD) and YARP's destination resolver.
builder.Services.AddServiceDiscovery();
builder.Services.AddKubernetesServiceEndpointProvider();
builder.Services.AddReverseProxy().AddKubernetesDestinationResolver();
using var app = builder.Build();
await app.StartAsync(cancellationToken);

var answer = await app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca").GetStringAsync(new Uri("/", UriKind.Relative), cancellationToken);
var podEndpoint = $"{podAddress}:{podPort}";
var mesd = await app.Services.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://alpaca-prod", cancellationToken);
var mesdAnswer = string.Join(",", mesd.Endpoints.Select(e => e.EndPoint.ToString()));
var yarp = await app.Services.GetRequiredService<IDestinationResolver>().ResolveDestinationsAsync(
    new Dictionary<string, DestinationConfig> { ["alpaca"] = new() { Address = "http://alpaca-prod" } }, cancellationToken);
var yarpAnswer = string.Join(",", yarp.Destinations.Values.Select(d => d.Address));
Console.WriteLine($"http://alpaca-prod/ answered: {answer}; MESD resolved: {mesdAnswer}; YARP destinations: {yarpAnswer}");

// Discovery.Grpc: a stock channel on kubernetes:///alpaca-prod resolves the pod and connects to it (a TCP connection is all
// grpc-dotnet's connectivity needs, so the plain HTTP backend will do).
using var channel = GrpcChannel.ForAddress("kubernetes:///alpaca-prod", new GrpcChannelOptions { Credentials = ChannelCredentials.Insecure, ServiceProvider = app.Services });
await channel.ConnectAsync(cancellationToken);
Console.WriteLine($"kubernetes:///alpaca-prod channel: {channel.State}");
var connected = channel.State == ConnectivityState.Ready;
await app.StopAsync(cancellationToken);

return answer == PodName && connected && mesdAnswer == $"http://{podEndpoint}/" && yarpAnswer == $"http://{podEndpoint}" ? 0 : 1;
