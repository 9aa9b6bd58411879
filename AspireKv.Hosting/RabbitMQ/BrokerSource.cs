using Microsoft.Extensions.Configuration;

namespace AspireKv.Hosting.RabbitMQ;

/// <summary>Where the <c>messaging</c> broker comes from, in the order the AppHost tries them.</summary>
public enum BrokerSource
{
    /// <summary><c>ConnectionStrings:&lt;name&gt;</c> names an existing broker; the AppHost only points at it.</summary>
    Existing,

    /// <summary>Aspire.Hosting.RabbitMQ's container, where a container runtime answers.</summary>
    Container,

    /// <summary>Private rabbitmq-server processes under DCP (installed with apt on first use when missing).</summary>
    Process,
}

/// <summary>Decides where the broker comes from, before it is declared: a container that can never start must not be declared.</summary>
public static class BrokerSources
{
    /// <summary>
    /// An existing broker when its connection string is set; otherwise a container where a runtime
    /// answers, for a lone broker; otherwise (and always for a cluster, which the container image
    /// does not form) private processes.
    /// </summary>
    public static BrokerSource Decide(bool hasConnectionString, int clusterSize, bool containerRuntimeAnswers) =>
        hasConnectionString ? BrokerSource.Existing
        : clusterSize == 1 && containerRuntimeAnswers ? BrokerSource.Container
        : BrokerSource.Process;

    /// <summary>
    /// Whether the container runtime Aspire would use (<c>ASPIRE_CONTAINER_RUNTIME</c>, docker by
    /// default) answers: <c>container ls -n 1</c> succeeds, as Aspire's own probe asks it.
    /// </summary>
    public static bool ContainerRuntimeAnswers(IConfiguration configuration)
    {
        var runtime = configuration["DcpPublisher:ContainerRuntime"] ?? configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker";
        return Programs.IsOnPath(runtime) && Programs.Succeeds(runtime, ["container", "ls", "-n", "1"], TimeSpan.FromSeconds(10));
    }
}
