using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discovery.Grpc.Tests;

/// <summary>The resolver's settings are checked when the options are first read, naming the setting.</summary>
public sealed class OptionsTests
{
    [Theory]
    [InlineData(0, 30, "Discovery:Grpc:RetryDelay")]
    [InlineData(2_000, 1_000, "Discovery:Grpc:MaxRetryDelay")]
    [InlineData(1_000, 2 * 86_400_000, "Discovery:Grpc:MaxRetryDelay")]
    public void Out_of_range_retry_delays_are_refused_naming_the_setting(int retryMs, int maxMs, string expected)
    {
        var services = new ServiceCollection();
        services.AddKubernetesGrpcResolver(o =>
        {
            o.RetryDelay = TimeSpan.FromMilliseconds(retryMs);
            o.MaxRetryDelay = TimeSpan.FromMilliseconds(maxMs);
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KubernetesGrpcResolverOptions>>().Value);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_providers_read_the_options_at_once_without_failing()
    {
        // The CI failure this guards against: validation attributes with lazily converted limits raced when several hosts
        // read their options for the first time on different threads.
        var reads = Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            var services = new ServiceCollection();
            services.AddKubernetesGrpcResolver();
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<IOptions<KubernetesGrpcResolverOptions>>().Value.RetryDelay;
        })).ToArray();

        Assert.All(await Task.WhenAll(reads), delay => Assert.Equal(TimeSpan.FromSeconds(1), delay));
    }
}
