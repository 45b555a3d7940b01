using System.Net;
using System.Net.Sockets;

namespace Discovery.Http.Tests;

/// <summary>Loopback addresses where nothing listens: connecting is refused at once, like a pod that just died.</summary>
public static class Ports
{
    public static (string Address, int Port) Refusing()
    {
        var address = Backend.NextAddress();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return (address, port);
    }
}
