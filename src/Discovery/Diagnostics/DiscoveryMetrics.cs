using System.Diagnostics.Metrics;

namespace Discovery.Internal;

/// <summary>The instruments of the <c>Discovery</c> meter that the core records.</summary>
internal sealed class DiscoveryMetrics : IDisposable
{
    public const string MeterName = "Discovery";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public DiscoveryMetrics(IMeterFactory? meterFactory, Func<IEnumerable<ServiceWatcher>> watchers)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(MeterName);
        }

        WatchEvents = _meter.CreateCounter<long>("discovery.watch.events", "{event}", "Watch events received, by resource and type.");
        Relists = _meter.CreateCounter<long>("discovery.watch.relists", "{list}", "Full re-lists after a watch expired (410 Gone) or failed repeatedly.");
        Reconnects = _meter.CreateCounter<long>("discovery.watch.reconnects", "{reconnect}", "Failed list or watch requests that were retried after a back-off.");
        ActiveWatchers = _meter.CreateUpDownCounter<long>("discovery.watchers.active", "{watcher}", "Services being watched.");
        _meter.CreateObservableGauge("discovery.endpoints", () => ObserveEndpoints(watchers()), "{endpoint}", "Usable endpoints per Service.");
        _meter.CreateObservableGauge("discovery.snapshot.age", () => ObserveAge(watchers()), "s", "Time since each watcher last heard from the API server.");
    }

    public Counter<long> WatchEvents { get; }

    public Counter<long> Relists { get; }

    public Counter<long> Reconnects { get; }

    public UpDownCounter<long> ActiveWatchers { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static IEnumerable<Measurement<int>> ObserveEndpoints(IEnumerable<ServiceWatcher> watchers)
    {
        foreach (var watcher in watchers)
        {
            if (watcher.Current is { } snapshot)
            {
                yield return new Measurement<int>(snapshot.UsableEndpoints.Length, watcher.Tags);
            }
        }
    }

    private static IEnumerable<Measurement<double>> ObserveAge(IEnumerable<ServiceWatcher> watchers)
    {
        foreach (var watcher in watchers)
        {
            if (watcher.Current is not null)
            {
                yield return new Measurement<double>(watcher.SinceLastContact.TotalSeconds, watcher.Tags);
            }
        }
    }
}
