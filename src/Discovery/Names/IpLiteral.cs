using System.Net;
using System.Net.Sockets;

namespace Discovery.Internal;

/// <summary>
/// Strict parsing of the IP literals the API publishes. An endpoint address ends up as the host of a request URI, so
/// anything but a plain IP literal (a name, a path, a port, a scope) could send the request somewhere else.
/// </summary>
internal static class IpLiteral
{
    /// <summary>
    /// Parses <paramref name="text"/> as an IP literal of <paramref name="expected"/> (or either family for
    /// <see cref="AddressFamily.Unspecified"/>) and returns its canonical text, so that two spellings of one address
    /// de-duplicate and compare as one.
    /// </summary>
    public static bool TryNormalize(string? text, AddressFamily expected, out string normalized, out AddressFamily family)
    {
        normalized = string.Empty;
        family = AddressFamily.Unspecified;
        if (string.IsNullOrEmpty(text) || text.Length > 45)
        {
            return false;
        }

        if (expected != AddressFamily.InterNetworkV6 && TryParseDottedQuad(text, out var v4))
        {
            normalized = v4;
            family = AddressFamily.InterNetwork;
            return true;
        }

        if (expected != AddressFamily.InterNetwork && IsIPv6Text(text) && IPAddress.TryParse(text, out var v6)
            && v6.AddressFamily == AddressFamily.InterNetworkV6 && v6.ScopeId == 0)
        {
            normalized = v6.ToString();
            family = AddressFamily.InterNetworkV6;
            return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="text"/> is a DNS name that can stand as a URI host (ExternalName, load balancer hostnames).</summary>
    public static bool IsDnsName(string? text)
        => !string.IsNullOrEmpty(text) && text.Length <= 253 && Uri.CheckHostName(text) == UriHostNameType.Dns;

    // IPAddress.TryParse also takes the inet_aton forms ("10.1" is 10.0.0.1, "0x0a.1.1.1", octal with a leading zero):
    // the API server reads such text as decimal dotted quads, or not at all, so only four decimal parts are accepted.
    private static bool TryParseDottedQuad(string text, out string normalized)
    {
        normalized = string.Empty;
        Span<byte> parts = stackalloc byte[4];
        var part = 0;
        var value = 0;
        var digits = 0;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                value = (value * 10) + (c - '0');
                if (++digits > 3 || value > 255)
                {
                    return false;
                }
            }
            else if (c == '.' && digits > 0 && part < 3)
            {
                parts[part++] = (byte)value;
                value = 0;
                digits = 0;
            }
            else
            {
                return false;
            }
        }

        if (part != 3 || digits == 0)
        {
            return false;
        }

        parts[3] = (byte)value;
        normalized = new IPAddress(parts).ToString();
        return true;
    }

    // IPAddress.TryParse also accepts brackets, a port after them and a %scope: none of them belongs in an endpoint address.
    private static bool IsIPv6Text(string text)
    {
        var colons = false;
        foreach (var c in text)
        {
            if (c == ':')
            {
                colons = true;
            }
            else if (!char.IsAsciiHexDigit(c) && c != '.')
            {
                return false;
            }
        }

        return colons;
    }
}
