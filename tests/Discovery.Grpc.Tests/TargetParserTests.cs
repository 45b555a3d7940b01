namespace Discovery.Grpc.Tests;

/// <summary>The <c>kubernetes:</c> address grammar: kuberesolver's forms with the core's host forms.</summary>
public sealed class TargetParserTests
{
    private static readonly ServiceHostParser Parser = new("default");

    [Theory]
    [InlineData("kubernetes:///alpaca-prod", "default", "alpaca-prod", null, null, "alpaca-prod")]
    [InlineData("kubernetes:///alpaca-prod:50051", "default", "alpaca-prod", null, 50051, "alpaca-prod:50051")]
    [InlineData("kubernetes:///alpaca-prod.demo:grpc", "demo", "alpaca-prod", "grpc", null, "alpaca-prod.demo")]
    [InlineData("kubernetes:///Alpaca-Prod.Demo.svc:GRPC", "demo", "alpaca-prod", "grpc", null, "alpaca-prod.demo.svc")]
    [InlineData("kubernetes://demo/alpaca-prod:8080", "demo", "alpaca-prod", null, 8080, "alpaca-prod.demo:8080")]
    [InlineData("kubernetes:///demo/alpaca-prod", "demo", "alpaca-prod", null, null, "alpaca-prod.demo")]
    [InlineData("kubernetes://alpaca-prod.demo:8080/", "demo", "alpaca-prod", null, 8080, "alpaca-prod.demo:8080")]
    [InlineData("kubernetes:///_grpc.alpaca-prod.demo.svc.cluster.local.", "demo", "alpaca-prod", "grpc", null, "alpaca-prod.demo.svc.cluster.local")]
    public void Reads_each_form(string address, string @namespace, string name, string? portName, int? port, string authority)
    {
        var target = KubernetesGrpcTargetParser.Parse(new Uri(address), Parser);

        Assert.Equal(new ServiceKey(@namespace, name), target.Service);
        Assert.Equal(portName, target.PortName);
        Assert.Equal(port, target.Port);
        Assert.Equal(authority, target.Authority);
    }

    [Theory]
    [InlineData("kubernetes:///", "names no Service")]
    [InlineData("kubernetes:///alpaca-prod:0", "not between 1 and 65535")]
    [InlineData("kubernetes:///alpaca-prod:99999", "not between 1 and 65535")]
    [InlineData("kubernetes:///_grpc.alpaca-prod:http", "names the port twice")]
    [InlineData("kubernetes:///a/b/c", "more path segments")]
    [InlineData("kubernetes://demo:80/alpaca-prod", "cannot have a port")]
    [InlineData("kubernetes://demo/alpaca-prod.other", "single name")]
    [InlineData("kubernetes:///10.0.0.1:50051", "not a Kubernetes Service name")]
    [InlineData("kubernetes:///api.github.com:443", "not a Kubernetes Service name")]
    [InlineData("kubernetes:///1alpaca", "must start with a letter")]
    [InlineData("kubernetes:///alpaca:-bad-", "not a valid port name")]
    public void Rejects_malformed_addresses_with_the_reason(string address, string reason)
    {
        var error = Assert.Throws<InvalidServiceNameException>(() => KubernetesGrpcTargetParser.Parse(new Uri(address), Parser));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
