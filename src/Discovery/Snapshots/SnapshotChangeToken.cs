using Microsoft.Extensions.Primitives;

namespace Discovery;

/// <summary>
/// The <see cref="IChangeToken"/> of one <see cref="ServiceEndpointSnapshot"/>: fires once, when the watcher signals the
/// snapshot superseded. A thin wrapper over a <see cref="CancellationTokenSource"/> that is never disposed: without a timer
/// a source holds nothing but its callbacks, and the token outlives every registration that might still dispose one.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A source without a timer holds only callbacks; see the summary.")]
internal sealed class SnapshotChangeToken : IChangeToken
{
    private readonly CancellationTokenSource _source = new();

    /// <inheritdoc/>
    public bool HasChanged => _source.IsCancellationRequested;

    /// <inheritdoc/>
    public bool ActiveChangeCallbacks => true;

    /// <inheritdoc/>
    /// <remarks>A callback registered after the token fired runs at once, on the caller's thread.</remarks>
    public IDisposable RegisterChangeCallback(Action<object?> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);

        // UnsafeRegister: the watcher's execution context must not leak into consumers' callbacks, nor theirs into it.
        return _source.Token.UnsafeRegister(callback, state);
    }

    /// <summary>Fires the token; later calls do nothing.</summary>
    public void Fire()
    {
        if (!_source.IsCancellationRequested)
        {
            _source.Cancel();
        }
    }
}
