namespace Discovery.Internal;

/// <summary>What a <see cref="ResourceInformer"/> tells the watcher that owns it.</summary>
internal interface IResourceInformerOwner
{
    /// <summary>The informer's set of objects changed (event applied, or a re-list swapped in): <paramref name="change"/> says how.</summary>
    ValueTask OnChangedAsync(InformerChange change, CancellationToken cancellationToken);

    /// <summary>The API answered: a list succeeded, an event arrived, or a watch ended cleanly.</summary>
    void OnContact(ResourceInformer informer);

    /// <summary>A list or watch failed and will be retried after a back-off.</summary>
    void OnFailure(ResourceInformer informer, Exception error);

    /// <summary>Offers a replacement query when a list is refused (EndpointSlices not served or not permitted).</summary>
    ResourceQuery? GetFallback(ResourceInformer informer, KubernetesStatusException error);
}
