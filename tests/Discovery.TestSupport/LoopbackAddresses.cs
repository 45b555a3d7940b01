using System.Net;
using System.Net.Sockets;

namespace Discovery.TestSupport;

/// <summary>Loopback addresses for pods: 127.0.0.0/8 is all loopback on Linux, so each pod gets an address of its own, as pods do.</summary>
public static class LoopbackAddresses
{
    // One counter per test process: addresses never repeat within a run. 127.0.0.1-3 stay free for tests that name them,
    // and 127.0.0.0/16 stays clear of the fixed ranges some tests pick by hand (Reliability's pools in 127.77.0.0/16).
    private static int s_next = 1;

    /// <summary>The next unused address of 127.0.0.0/16, from 127.0.0.4 on.</summary>
    public static string Next()
    {
        var n = Interlocked.Increment(ref s_next);
        return $"127.0.{n / 250 % 250}.{(n % 250) + 2}";
    }

    /// <summary>A fresh loopback address and a port where nothing listens: connecting is refused at once, like a pod that just died.</summary>
    public static (string Address, int Port) Refusing() => Refusing(Next());

    /// <summary>A port on <paramref name="address"/> where nothing listens (bound for a moment to learn a free one, then released).</summary>
    public static (string Address, int Port) Refusing(string address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return (address, ((IPEndPoint)socket.LocalEndPoint!).Port);
    }
}
