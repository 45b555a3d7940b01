using CsCheck;

namespace Discovery.Tests;

public class ServiceHostParserTests
{
    private readonly ServiceHostParser _parser = new("demo", "cluster.local");

    [Theory]
    [InlineData("alpaca-prod", ServiceHostMatch.Service, "demo", "alpaca-prod", null)]
    [InlineData("ALPACA-Prod", ServiceHostMatch.Service, "demo", "alpaca-prod", null)]
    [InlineData("alpaca-prod.", ServiceHostMatch.Service, "demo", "alpaca-prod", null)]
    [InlineData("alpaca-prod.default", ServiceHostMatch.ServiceIfExists, "default", "alpaca-prod", null)]
    [InlineData("alpaca-prod.default.svc", ServiceHostMatch.Service, "default", "alpaca-prod", null)]
    [InlineData("alpaca-prod.default.svc.cluster.local", ServiceHostMatch.Service, "default", "alpaca-prod", null)]
    [InlineData("alpaca-prod.default.svc.cluster.local.", ServiceHostMatch.Service, "default", "alpaca-prod", null)]
    [InlineData("Alpaca-Prod.Default.SVC.Cluster.Local", ServiceHostMatch.Service, "default", "alpaca-prod", null)]
    [InlineData("_grpc.alpaca-prod", ServiceHostMatch.Service, "demo", "alpaca-prod", "grpc")]
    [InlineData("_grpc.bandicoot-prod.demo.svc.cluster.local", ServiceHostMatch.Service, "demo", "bandicoot-prod", "grpc")]
    [InlineData("_http.alpaca-prod.default", ServiceHostMatch.ServiceIfExists, "default", "alpaca-prod", "http")]
    [InlineData("example.com", ServiceHostMatch.ServiceIfExists, "com", "example", null)]
    [InlineData("alpaca.1demo", ServiceHostMatch.ServiceIfExists, "1demo", "alpaca", null)]
    public void Service_forms_are_recognised(string host, ServiceHostMatch match, string ns, string name, string? port)
    {
        var result = _parser.Parse(host);

        Assert.Equal(match, result.Match);
        Assert.Equal(new ServiceKey(ns, name), result.Service);
        Assert.Equal(port, result.PortName);
        Assert.Null(result.Error);
    }

    [Theory]
    [InlineData("10.1.0.11")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("[fd00:10:1::21]")]
    [InlineData("fd00:10:1::21")]
    [InlineData("localhost")]
    [InlineData("LOCALHOST.")]
    [InlineData("api.localhost")]
    [InlineData("api.github.com")]
    [InlineData("www.example.co.uk")]
    [InlineData("alpaca-prod.default.svc.other.domain")]
    [InlineData("pod-0.alpaca-headless.demo.svc.cluster.local")]
    [InlineData("my_host.corp")]
    [InlineData("123")]
    public void Other_hosts_pass_through(string host)
    {
        var result = _parser.Parse(host);

        Assert.Equal(ServiceHostMatch.PassThrough, result.Match);
        Assert.Equal(default, result.Service);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(".", "empty")]
    [InlineData("alpaca..prod", "empty label")]
    [InlineData(".alpaca", "empty label")]
    [InlineData("alpaca_prod", "'_'")]
    [InlineData("-alpaca", "start and end")]
    [InlineData("alpaca-", "start and end")]
    [InlineData("1alpaca", "start with a letter")]
    [InlineData("alpaca prod", "' '")]
    [InlineData("_.alpaca", "port")]
    [InlineData("_grpc_x.alpaca", "port")]
    [InlineData("_123.alpaca", "must contain a letter")]
    [InlineData("_this-name-is-too-long.alpaca", "port")]
    [InlineData("_grpc", "followed by a Service name")]
    [InlineData("al%70aca", "'%'")]
    [InlineData("alpaca.de_mo.svc", "namespace")]
    [InlineData("1alpaca.demo.svc.cluster.local", "Service name")]
    [InlineData("[not-an-ip]", "IPv6")]
    public void Malformed_service_names_are_invalid_with_a_reason(string host, string reasonPart)
    {
        var result = _parser.Parse(host);

        Assert.Equal(ServiceHostMatch.Invalid, result.Match);
        Assert.Contains(reasonPart, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sixty_four_character_name_is_invalid()
    {
        var result = _parser.Parse(new string('a', 64));

        Assert.Equal(ServiceHostMatch.Invalid, result.Match);
        Assert.Contains("63", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Cluster_domain_is_configurable()
    {
        var parser = new ServiceHostParser("demo", "corp.example.");

        Assert.Equal(ServiceHostMatch.Service, parser.Parse("alpaca.demo.svc.corp.example").Match);
        Assert.Equal(ServiceHostMatch.PassThrough, parser.Parse("alpaca.demo.svc.cluster.local").Match);
        Assert.Equal("corp.example", parser.ClusterDomain);
    }

    private static readonly Gen<string> Dns1035Label =
        Gen.Select(Gen.Char["abcdefghijklmnopqrstuvwxyz"], Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-"], 0, 61], Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"])
            .Select((first, middle, last) => middle.Length == 0 ? first.ToString() : first + middle + last);

    private static readonly Gen<string> CaseMangled = Dns1035Label.SelectMany(label =>
        Gen.Bool.Array[label.Length].Select(upper => new string([.. label.Select((c, i) => upper[i] ? char.ToUpperInvariant(c) : c)])));

    [Fact]
    public void Any_valid_name_in_any_form_and_case_maps_to_its_lower_case_key()
    {
        Gen.Select(CaseMangled, CaseMangled, Gen.Int[0, 3], Gen.Bool).Sample((service, ns, form, trailingDot) =>
        {
            var host = form switch
            {
                0 => service,
                1 => $"{service}.{ns}",
                2 => $"{service}.{ns}.svc",
                _ => $"{service}.{ns}.svc.cluster.local",
            };
            var result = _parser.Parse(trailingDot ? host + "." : host);
            var expectedNamespace = form == 0 ? "demo" : ns.ToLowerInvariant();
            return result.Match == (form == 1 ? ServiceHostMatch.ServiceIfExists : ServiceHostMatch.Service)
                && result.Service == new ServiceKey(expectedNamespace, service.ToLowerInvariant());
        });
    }

    [Fact]
    public void Parsing_never_throws_and_service_results_always_hold_valid_labels()
    {
        var chars = Gen.Char["abcXYZ019-_.:[]% é\u0000"];
        Gen.String[chars, 0, 80].Sample(host =>
        {
            var result = _parser.Parse(host);
            return result.Match switch
            {
                ServiceHostMatch.Service or ServiceHostMatch.ServiceIfExists =>
                    IsLabel(result.Service.Name) && IsLabel(result.Service.Namespace) && char.IsAsciiLetterLower(result.Service.Name[0]),
                ServiceHostMatch.Invalid => !string.IsNullOrEmpty(result.Error),
                _ => result.Service == default,
            };
        }, iter: 5000);
    }

    [Fact]
    public void Labels_with_a_forbidden_character_are_never_service_keys()
    {
        Gen.Select(Dns1035Label, Gen.Char["_%$!~ +*"], Gen.Int[0, 62]).Sample((label, bad, at) =>
        {
            var index = Math.Min(at, label.Length);
            var host = label.Insert(index, bad.ToString());
            return _parser.Parse(host).Match == ServiceHostMatch.Invalid;
        });
    }

    private static bool IsLabel(string value)
        => value.Length is > 0 and <= 63 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && value[0] != '-' && value[^1] != '-';
}
