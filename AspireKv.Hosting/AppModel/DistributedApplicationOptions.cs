namespace AspireKv.Hosting.AppModel;

/// <summary>How the application runs, from its command line and configuration.</summary>
public sealed class DistributedApplicationOptions
{
    /// <summary>Where resources keep their state; <c>.aspirekv/state</c> under the folder the AppHost started in.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Where the discovery file goes; <c>.aspirekv/endpoints.json</c> under the folder the AppHost started in.</summary>
    public required string EndpointsFile { get; init; }

    /// <summary>Delete the state folder before starting.</summary>
    public bool Reset { get; init; }

    /// <summary>Serve the dashboard.</summary>
    public bool DashboardEnabled { get; init; } = true;

    /// <summary>The dashboard's port on loopback, as chosen (0: any); null: 18888, or a free one when that is taken.</summary>
    public int? DashboardPort { get; init; }

    /// <summary>Also write the broker's own output to the terminal (it is always in its console log).</summary>
    public bool Verbose { get; init; }

    /// <summary>Write resource logs and the resource table to the console.</summary>
    public bool ConsoleOutput { get; init; } = true;
}
