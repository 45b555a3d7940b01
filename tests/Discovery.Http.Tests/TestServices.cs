using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Http.Tests;

/// <summary>A service provider with discovery registered over a <see cref="FakeEndpointResolver"/>.</summary>
public sealed class TestServices : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private TestServices(ServiceProvider provider, FakeEndpointResolver resolver)
    {
        _provider = provider;
        Resolver = resolver;
    }

    public FakeEndpointResolver Resolver { get; }

    public IServiceProvider Provider => _provider;

    public IHttpClientFactory Factory => _provider.GetRequiredService<IHttpClientFactory>();

    public static TestServices Create(
        Action<IServiceCollection>? configure = null,
        TimeProvider? timeProvider = null,
        IDictionary<string, string?>? configuration = null,
        FakeEndpointResolver? resolver = null,
        bool registerForAllClients = true)
    {
        resolver ??= new FakeEndpointResolver();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? new Dictionary<string, string?>()).Build());
        services.AddSingleton<IServiceEndpointResolver>(resolver);
        services.AddSingleton(new ServiceHostParser("default"));
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        if (registerForAllClients)
        {
            services.AddKubernetesDiscovery();
        }

        configure?.Invoke(services);
        return new TestServices(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), resolver);
    }

    public HttpClient Client(string name = "") => Factory.CreateClient(name);

    public T Get<T>()
        where T : notnull => _provider.GetRequiredService<T>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
