namespace Discovery.Http;

/// <summary>The destinations a request may currently go to, valid until an ejection starts (<see cref="HealthVersion"/>) or ends (<see cref="ValidUntil"/>).</summary>
internal sealed class CandidateView
{
    public CandidateView(int healthVersion, long validUntil, DestinationState[] candidates, bool panic, bool preferredOnly = false, DestinationState[]? warm = null)
    {
        Warm = warm ?? candidates;
        PreferredOnly = preferredOnly;
        HealthVersion = healthVersion;
        ValidUntil = validUntil;
        Candidates = candidates;
        Panic = panic;
    }

    public int HealthVersion { get; }

    /// <summary>The <see cref="TimeProvider"/> timestamp at which the next ejection ends.</summary>
    public long ValidUntil { get; }

    public DestinationState[] Candidates { get; }

    /// <summary>The candidates not in slow start (the same array when none is).</summary>
    public DestinationState[] Warm { get; }

    /// <summary>Whether the candidates are the set's preferred (same node or zone) destinations only.</summary>
    public bool PreferredOnly { get; }

    /// <summary>Whether every destination is ejected, so all are used anyway.</summary>
    public bool Panic { get; }
}
