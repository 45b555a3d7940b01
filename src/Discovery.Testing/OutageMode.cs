namespace Discovery.Testing;

/// <summary>How an emulated API server outage looks to clients.</summary>
public enum OutageMode
{
    /// <summary>The server stops listening: new connections are refused and open ones are cut.</summary>
    RefuseConnections,

    /// <summary>The server keeps listening but answers every request with 503 ServiceUnavailable and cuts open watches.</summary>
    ServiceUnavailable,
}
