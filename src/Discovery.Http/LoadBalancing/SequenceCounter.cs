namespace Discovery.Http;

/// <summary>A thread-safe counter kept per Service port, handed to policies through <see cref="LoadBalancingContext.NextSequence"/>.</summary>
internal sealed class SequenceCounter
{
    private long _value = -1;

    public long Next() => Interlocked.Increment(ref _value);
}
