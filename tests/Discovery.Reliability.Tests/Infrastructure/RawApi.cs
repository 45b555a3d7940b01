using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Discovery.Testing;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>
/// A hand-scripted Kubernetes API on loopback for what the emulator will not produce: watches that stay open and silent
/// forever, and arbitrary bytes as list bodies and watch lines. Serves one Service per name and its EndpointSlices.
/// </summary>
internal sealed class RawApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();

    private RawApi(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request: time, whether a watch, the service it is about, and its query.</summary>
    public ConcurrentQueue<(DateTime At, bool Watch, string Resource, string Query)> Requests { get; } = new();

    /// <summary>Body of the EndpointSlice list of a service; default: <see cref="SliceList"/> of <see cref="Slices"/>.</summary>
    public Func<string, byte[]?>? SliceListOverride { get; set; }

    /// <summary>Current valid EndpointSlices per service (what a list answers).</summary>
    public ConcurrentDictionary<string, V1EndpointSlice> Slices { get; } = new();

    public long ResourceVersion;

    // Lines wait here until a watch writes them: one sent while the client is between watches goes out on the next one.
    private readonly Channel<PendingLine> _lines = Channel.CreateUnbounded<PendingLine>();
    private object? _newestWatch;

    /// <summary>
    /// Sends a line on the newest EndpointSlice watch (the next one if none is open). The task completes once the line was
    /// written and flushed to the client's connection. Like a real server resuming from a resourceVersion, every new watch
    /// first replays the current slice (as MODIFIED), so a later valid line is never needed to undo a broken watch.
    /// </summary>
    public Task SendLine(byte[] line)
    {
        var pending = new PendingLine(line);
        _lines.Writer.TryWrite(pending);
        return pending.Delivered.Task;
    }

    /// <summary>When true, watches send headers and then nothing, never ending by themselves (a dead connection).</summary>
    public bool SilentWatches { get; set; }

    public static async Task<RawApi> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        RawApi? api = null;
        app.Run(context => api!.HandleAsync(context));
        await app.StartAsync();
        api = new RawApi(app);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        api.BaseAddress = new Uri(bound);
        return api;
    }

    public IKubernetes CreateClient() => new Kubernetes(new KubernetesClientConfiguration { Host = BaseAddress.ToString().TrimEnd('/') });

    public string NextVersion() => Interlocked.Increment(ref ResourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public V1EndpointSlice SetSlice(string service, int port, params string[] addresses)
    {
        var slice = EmulatorObjects.EndpointSlice(Cluster.Namespace, service, service + "-1", port, "http", addresses);
        slice.Metadata.ResourceVersion = NextVersion();
        Slices[service] = slice;
        return slice;
    }

    public static byte[] Line(string type, object obj) => Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":{KubernetesJson.Serialize(obj)}}}\n");

    public byte[] SliceList(string service)
    {
        var items = Slices.TryGetValue(service, out var slice) ? KubernetesJson.Serialize(slice) : "";
        return Encoding.UTF8.GetBytes($"{{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{{\"resourceVersion\":\"{Interlocked.Read(ref ResourceVersion)}\"}},\"items\":[{items}]}}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var watch = query["watch"] == "true";
        var path = context.Request.Path.Value ?? "";
        var service = query["fieldSelector"].ToString().Replace("metadata.name=", "", StringComparison.Ordinal);
        if (service.Length == 0)
        {
            service = query["labelSelector"].ToString().Replace("kubernetes.io/service-name=", "", StringComparison.Ordinal);
        }

        var resource = path.EndsWith("/services", StringComparison.Ordinal) ? "services" : path.EndsWith("/endpointslices", StringComparison.Ordinal) ? "endpointslices" : path;
        Requests.Enqueue((DateTime.UtcNow, watch, resource, context.Request.QueryString.Value ?? ""));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var token = linked.Token;
        context.Response.ContentType = "application/json";
        try
        {
            switch (resource, watch)
            {
                case ("services", false):
                    var svc = EmulatorObjects.Service(Cluster.Namespace, service, EmulatorObjects.ServicePort(80, "http", 8080));
                    svc.Metadata.ResourceVersion = "1";
                    await context.Response.WriteAsync($"{{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"{Interlocked.Read(ref ResourceVersion)}\"}},\"items\":[{KubernetesJson.Serialize(svc)}]}}", token);
                    break;
                case ("endpointslices", false):
                    var body = SliceListOverride?.Invoke(service) ?? SliceList(service);
                    await context.Response.Body.WriteAsync(body, token);
                    break;
                case ("services", true):
                    await context.Response.StartAsync(token);
                    await HoldAsync(query["timeoutSeconds"], token);
                    break;
                case ("endpointslices", true):
                    await context.Response.StartAsync(token);
                    if (SilentWatches)
                    {
                        await Task.Delay(Timeout.Infinite, token);
                    }

                    await StreamAsync(context, query["timeoutSeconds"], token);
                    break;
                default:
                    context.Response.StatusCode = 404;
                    await context.Response.WriteAsync("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}", token);
                    break;
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away or the server stops.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
    }

    private async Task HoldAsync(Microsoft.Extensions.Primitives.StringValues timeoutSeconds, CancellationToken token)
    {
        // A quiet but healthy watch: silent until its timeoutSeconds, then a clean end — unless watches are "dead".
        var seconds = int.TryParse(timeoutSeconds, out var parsed) ? parsed : -1;
        await Task.Delay(SilentWatches || seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds), token);
    }

    private async Task StreamAsync(HttpContext context, Microsoft.Extensions.Primitives.StringValues timeoutSeconds, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (int.TryParse(timeoutSeconds, out var seconds))
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        var me = new object();
        Volatile.Write(ref _newestWatch, me);
        var service = context.Request.Query["labelSelector"].ToString().Replace("kubernetes.io/service-name=", "", StringComparison.Ordinal);
        if (Slices.TryGetValue(service, out var current))
        {
            await context.Response.Body.WriteAsync(Line("MODIFIED", current), token);
            await context.Response.Body.FlushAsync(token);
        }

        try
        {
            // Only the newest watch takes lines: an older one may be a connection the client already gave up on.
            while (ReferenceEquals(Volatile.Read(ref _newestWatch), me) && await _lines.Reader.WaitToReadAsync(deadline.Token))
            {
                while (ReferenceEquals(Volatile.Read(ref _newestWatch), me) && _lines.Reader.TryRead(out var line))
                {
                    try
                    {
                        await context.Response.Body.WriteAsync(line.Bytes, token);
                        await context.Response.Body.FlushAsync(token);
                    }
                    catch
                    {
                        // Not delivered: the next watch sends it.
                        _lines.Writer.TryWrite(line);
                        throw;
                    }

                    line.Delivered.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            // timeoutSeconds: a clean end.
        }
    }

    private sealed class PendingLine(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;

        public TaskCompletionSource Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
