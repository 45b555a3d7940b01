namespace Discovery;

/// <summary>
/// The current endpoints of Kubernetes Services, kept up to date by one watcher per Service that starts on first use
/// and stops after an idle time.
/// </summary>
public interface IServiceEndpointResolver
{
    /// <summary>
    /// Returns the current snapshot of a Service whose watcher has completed its initial sync. Takes no lock and
    /// allocates nothing: this is the request path. Also marks the Service as in use (idle eviction).
    /// </summary>
    /// <returns><see langword="false"/> when no synced watcher exists yet: call <see cref="GetSnapshotAsync"/>.</returns>
    bool TryGetSnapshot(ServiceKey service, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServiceEndpointSnapshot? snapshot);

    /// <summary>
    /// Returns the current snapshot, starting the Service's watcher if needed and waiting (bounded by the initial sync
    /// timeout) for its first list. A Service that does not exist yields a snapshot with
    /// <see cref="ServiceEndpointSnapshot.ServiceExists"/> false.
    /// </summary>
    /// <exception cref="NamespaceNotAllowedException">The namespace is outside the allow-list.</exception>
    /// <exception cref="KubernetesForbiddenException">RBAC refused the list and no fallback source was permitted.</exception>
    /// <exception cref="KubernetesApiUnavailableException">The API could not be reached before the initial sync timed out.</exception>
    ValueTask<ServiceEndpointSnapshot> GetSnapshotAsync(ServiceKey service, CancellationToken cancellationToken = default);

    /// <summary>
    /// Looks up a host that may name a Service or an external DNS name of the same shape (<c>name.namespace</c>, such as
    /// <c>example.com</c>): returns the Service's snapshot when it exists and the app may read it, else
    /// <see langword="null"/> (no such Service, or RBAC refuses its namespace), so that the caller sends the request to DNS.
    /// </summary>
    /// <remarks>
    /// The resolver of the discovery core asks the API once per host per
    /// <see cref="KubernetesDiscoveryOptions.NegativeCacheDuration"/> and starts no watcher for a host that is not a visible
    /// Service. This default implementation maps the answers of <see cref="GetSnapshotAsync"/>: a Service that does not exist
    /// is <see langword="null"/>; an error (a refusal too, as it cannot tell a hidden namespace from a hidden Service) is
    /// thrown, and the HTTP handler then sends the host to DNS for a while.
    /// </remarks>
    /// <exception cref="NamespaceNotAllowedException">The namespace is outside the allow-list.</exception>
    /// <exception cref="KubernetesApiUnavailableException">The API could not be reached before the initial sync timed out.</exception>
    /// <exception cref="KubernetesForbiddenException">The Service is visible but its endpoints may not be read.</exception>
    async ValueTask<ServiceEndpointSnapshot?> GetSnapshotIfVisibleAsync(ServiceKey service, CancellationToken cancellationToken = default)
    {
        try
        {
            var snapshot = await GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
            return snapshot.ServiceExists ? snapshot : null;
        }
        catch (ServiceNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Streams snapshots of a Service: the current one first (after the initial sync), then each change, until cancelled.
    /// A slow consumer sees the latest snapshot, not every intermediate one.
    /// </summary>
    IAsyncEnumerable<ServiceEndpointSnapshot> WatchAsync(ServiceKey service, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="onChange"/> with every new snapshot of a Service until the returned handle is disposed. When the
    /// subscription is what starts the Service's watcher, the first snapshot is among them; a snapshot published before the
    /// subscription is not replayed (read it with <see cref="TryGetSnapshot"/>).
    /// </summary>
    IDisposable Subscribe(ServiceKey service, Action<ServiceEndpointSnapshot> onChange);
}
