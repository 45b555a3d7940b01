using System.Net;
using System.Net.Sockets;

namespace Discovery.Demo.Cluster;

/// <summary>
/// What a Service's cluster IP does, in miniature: kube-proxy picks a pod for each new TCP connection and forwards its bytes
/// there for the connection's whole life. Used to show why one HTTP/2 connection pins every gRPC call to one pod.
/// </summary>
public sealed class ClusterIpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IReadOnlyList<IPEndPoint> _pods;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _next;

    private ClusterIpForwarder(TcpListener listener, IReadOnlyList<IPEndPoint> pods)
    {
        _listener = listener;
        _pods = pods;
        _accepting = AcceptAsync();
    }

    /// <summary>The "cluster IP" and port clients connect to.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Listens on <paramref name="address"/> and forwards each connection to the next of <paramref name="pods"/>.</summary>
    public static ClusterIpForwarder Start(IPAddress address, IReadOnlyList<IPEndPoint> pods)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        return new ClusterIpForwarder(listener, pods);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            var pod = _pods[Interlocked.Increment(ref _next) % _pods.Count];
            _ = ForwardAsync(client, pod);
        }
    }

    private async Task ForwardAsync(TcpClient client, IPEndPoint pod)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(pod, _stopping.Token);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var down = client.GetStream();
                var up = upstream.GetStream();
                await Task.WhenAny(down.CopyToAsync(up, linked.Token), up.CopyToAsync(down, linked.Token));
                await linked.CancelAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A connection ending either way ends the forwarding, as it does in kube-proxy.
            }
        }
    }
}
