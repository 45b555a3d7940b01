namespace Discovery.Internal;

/// <summary>
/// The last-resort source of a lookup that found nothing from the API (opt-in): the Service's environment variables, then
/// its cluster DNS name. Returns data only; the watcher puts it into an empty slot (<see cref="SnapshotPublisher.TryPublishFallback"/>).
/// </summary>
internal static class FallbackSource
{
    /// <summary>The fallback snapshot the options allow, or <see langword="null"/>.</summary>
    public static ServiceEndpointSnapshot? TryBuild(ServiceKey key, WatcherContext context)
    {
        var options = context.Options;
        if (!options.UseEnvironmentVariableFallback && !options.UseDnsFallback)
        {
            return null;
        }

        var now = context.TimeProvider.GetUtcNow();
        ServiceEndpointSnapshot? fallback = null;
        if (options.UseEnvironmentVariableFallback)
        {
            fallback = FallbackSnapshotFactory.FromEnvironment(key, context.DefaultNamespace, 0, now);
        }

        if (fallback is null && options.UseDnsFallback)
        {
            fallback = FallbackSnapshotFactory.FromDns(key, options.ClusterDomain, 0, now);
        }

        return fallback;
    }
}
