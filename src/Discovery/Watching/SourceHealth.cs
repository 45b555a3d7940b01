namespace Discovery.Internal;

/// <summary>
/// When a set of informers last heard from the API and whether they are failing (status, staleness, the snapshot-age
/// gauge). Written by informer tasks on every contact or failure, read by status and by a failing first lookup.
/// </summary>
/// <param name="timeProvider">The clock.</param>
/// <param name="since">The timestamp contact is counted from until the first contact (when the informers started).</param>
internal sealed class SourceHealth(TimeProvider timeProvider, long since)
{
    // Guards the three fields below.
    private readonly object _lock = new();
    private long _lastContact = since;
    private bool _failing;
    private Exception? _lastError;

    public TimeSpan SinceLastContact
    {
        get
        {
            lock (_lock)
            {
                return timeProvider.GetElapsedTime(_lastContact);
            }
        }
    }

    public bool IsFailing
    {
        get
        {
            lock (_lock)
            {
                return _failing;
            }
        }
    }

    public Exception? LastError
    {
        get
        {
            lock (_lock)
            {
                return _lastError;
            }
        }
    }

    /// <summary>The API answered (a list, an event, a clean end of a watch).</summary>
    public void RecordContact()
    {
        var now = timeProvider.GetTimestamp();
        lock (_lock)
        {
            _lastContact = now;
            _failing = false;
        }
    }

    /// <summary>A list or watch failed and will be retried.</summary>
    public void RecordFailure(Exception error)
    {
        lock (_lock)
        {
            _lastError = error;
            _failing = true;
        }
    }

    /// <summary>A build failed (node addresses, say): reported as the last error without marking the watch failing.</summary>
    public void RecordBuildError(Exception error)
    {
        lock (_lock)
        {
            _lastError = error;
        }
    }
}
