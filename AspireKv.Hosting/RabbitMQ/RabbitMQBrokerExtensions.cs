using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting;
using AspireKv.Hosting.AppHost;
using AspireKv.Hosting.RabbitMQ;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Hosting;

/// <summary>
/// A RabbitMQ broker wherever the machine can have one: an existing one (<c>ConnectionStrings:&lt;name&gt;</c>);
/// Aspire.Hosting.RabbitMQ's container where a container runtime answers; otherwise private
/// rabbitmq-server processes under DCP, a lone one or a cluster, installed with apt when missing.
/// </summary>
public static class RabbitMQBrokerExtensions
{
    /// <summary>
    /// Adds the broker <paramref name="name"/>, from the first place that has one (see the class).
    /// Its size is the <c>Brokers</c> setting (<c>--brokers N</c>) unless <see cref="WithClusterSize"/> says.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddRabbitMQBroker(this IDistributedApplicationBuilder builder, string name)
    {
        var folder = AppHostFolder.Of(builder);
        return AddBroker(builder, name, folder.Brokers);
    }

    /// <summary>
    /// Runs the broker as <paramref name="brokers"/> private rabbitmq-server processes joined into one
    /// cluster, each a child resource; the stream then has a replica on each, so a write is confirmed
    /// once a majority holds it. Wins over <c>--brokers N</c>; an existing broker is left as it is.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> WithClusterSize(this IResourceBuilder<IResourceWithConnectionString> broker, int brokers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokers, 9);
        var current = broker.Resource is RabbitMQClusterResource cluster ? cluster.Brokers.Count : 1;
        if (current == brokers || broker.Resource is ConnectionStringResource)
        {
            return broker;
        }

        // The size decides what is declared (a container cannot form a cluster): declare it again.
        foreach (var declared in DeclaredFor(broker.ApplicationBuilder, broker.Resource))
        {
            broker.ApplicationBuilder.Resources.Remove(declared);
        }

        AppHostFolder.Of(broker.ApplicationBuilder).Published.RemoveAll(p => p.Resource == broker.Resource || IsChildOf(p.Resource, broker.Resource));
        AppHostFolder.Of(broker.ApplicationBuilder).ReadyWhenHealthy.RemoveAll(r => r == broker.Resource || IsChildOf(r, broker.Resource));
        return AddBroker(broker.ApplicationBuilder, broker.Resource.Name, brokers);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddBroker(IDistributedApplicationBuilder builder, string name, int clusterSize)
    {
        var folder = AppHostFolder.Of(builder);
        var hasConnectionString = !string.IsNullOrWhiteSpace(builder.Configuration[$"ConnectionStrings:{name}"]);
        var source = BrokerSources.Decide(hasConnectionString, clusterSize, !hasConnectionString && clusterSize == 1 && BrokerSources.ContainerRuntimeAnswers(builder.Configuration));
        IResourceBuilder<IResourceWithConnectionString> broker = source switch
        {
            BrokerSource.Existing => AddExisting(builder, name),
            BrokerSource.Container => AddContainer(builder, name, folder),
            _ when clusterSize == 1 => AddRabbitMQServerProcess(builder, name),
            _ => AddRabbitMQClusterProcesses(builder, name, clusterSize),
        };
        folder.Published.Insert(0, (broker.Resource, "rabbitmq"));
        folder.ReadyWhenHealthy.Add(broker.Resource);
        return broker;
    }

    /// <summary>A private rabbitmq-server process with its own port mapper beside it, its data under the AppHost's state folder.</summary>
    public static IResourceBuilder<RabbitMQServerProcessResource> AddRabbitMQServerProcess(this IDistributedApplicationBuilder builder, string name)
    {
        var folder = AppHostFolder.Of(builder);
        var layout = new BrokerLayout(folder.FolderOf(name));
        var password = builder.AddParameter($"{name}-password", () => layout.Password, secret: true);
        var install = InstallIfMissing(builder, name, folder);
        var epmd = AddEpmd(builder, name, layout.EpmdPort, layout.DataRoot, install);
        var broker = AddServer(builder, name, layout, password, install).WaitFor(epmd);
        epmd.WithParentRelationship(broker);
        password.WithParentRelationship(broker);
        install?.WithParentRelationship(broker);
        return broker;
    }

    /// <summary>
    /// <paramref name="size"/> private rabbitmq-server processes joined into one cluster: a port
    /// mapper and an Erlang cookie of their own, and on its first boot each broker joins the first.
    /// </summary>
    public static IResourceBuilder<RabbitMQClusterResource> AddRabbitMQClusterProcesses(this IDistributedApplicationBuilder builder, string name, int size)
    {
        var folder = AppHostFolder.Of(builder);
        var root = folder.FolderOf(name);
        Directory.CreateDirectory(root);
        var identity = BrokerClusterIdentity.LoadOrCreate(Path.Combine(root, "cluster.state"));
        var resource = new RabbitMQClusterResource(name, identity);
        var cluster = builder.AddResource(resource)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "RabbitMQCluster", State = KnownResourceStates.NotStarted, Properties = [] })
            .WithIconName("Organization");
        var password = builder.AddParameter($"{name}-password", () => identity.Password, secret: true).WithParentRelationship(cluster);
        var install = InstallIfMissing(builder, name, folder)?.WithParentRelationship(cluster);
        var epmd = AddEpmd(builder, name, identity.EpmdPort, root, install).WithParentRelationship(cluster);
        IResourceBuilder<RabbitMQServerProcessResource>? first = null;
        for (var i = 1; i <= size; i++)
        {
            var layout = new BrokerLayout(Path.Combine(root, $"{name}-{i}"), identity);
            var broker = AddServer(builder, $"{name}-{i}", layout, password, install, joinPeer: first is not null && layout.IsBlank ? first.Resource.Layout.NodeName : null)
                .WaitFor(epmd)
                .WithParentRelationship(cluster);

            // A new broker joins the first on its first boot, so that one must be up by then (not WaitFor,
            // which holds for every start); later boots start together, each waiting for the peers it saw.
            if (first is not null && layout.IsBlank)
            {
                var peer = first.Resource.Name;
                broker.OnBeforeResourceStarted((b, e, cancellationToken) => b.Layout.IsBlank
                    ? e.Services.GetRequiredService<ResourceNotificationService>().WaitForResourceHealthyAsync(peer, cancellationToken) : Task.CompletedTask);
            }

            broker.Resource.Cluster = resource;
            resource.Brokers.Add(broker.Resource);
            folder.Published.Add((broker.Resource, "rabbitmq-broker"));
            first ??= broker;
        }

        BrokerClusterLifecycle.Attach(cluster);
        return cluster;
    }

    /// <summary>Aspire's RabbitMQ container, with its password kept beside the data it keeps (the data volume holds the user the first run made).</summary>
    private static IResourceBuilder<RabbitMQServerResource> AddContainer(IDistributedApplicationBuilder builder, string name, AppHostFolder folder)
    {
        var path = Path.Combine(Directory.CreateDirectory(folder.FolderOf(name)).FullName, "container.state");
        var values = StateFile.Read(path);
        var kept = values.GetValueOrDefault("password") ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        StateFile.Write(path, [$"password={kept}"], secret: true);
        var password = builder.AddParameter($"{name}-password", () => kept, secret: true);
        return builder.AddRabbitMQ(name, password: password).WithManagementPlugin().WithDataVolume();
    }

    /// <summary>
    /// A broker the AppHost only points at. Before anything starts it must answer within
    /// <c>Broker:ReachTimeoutSeconds</c> (30 by default): otherwise the AppHost stops with one line
    /// that says which broker and why, rather than leaving every node waiting for it.
    /// </summary>
    private static IResourceBuilder<IResourceWithConnectionString> AddExisting(IDistributedApplicationBuilder builder, string name)
    {
        var broker = builder.AddConnectionString(name);
        var reach = TimeSpan.FromSeconds(builder.Configuration.GetValue("Broker:ReachTimeoutSeconds", 30));
        builder.Eventing.Subscribe<BeforeStartEvent>(async (e, cancellationToken) =>
        {
            var check = new AmqpHealthCheck(broker.Resource);
            var deadline = DateTime.UtcNow + reach;
            HealthCheckResult result;
            while ((result = await check.CheckHealthAsync(new HealthCheckContext(), cancellationToken).ConfigureAwait(false)).Status == HealthStatus.Unhealthy && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }

            if (result.Status == HealthStatus.Unhealthy)
            {
                var reason = result.Description is { Length: > 0 } text ? char.ToUpperInvariant(text[0]) + text[1..] : "It cannot be reached";
                Console.Error.WriteLine($"The AppHost could not start: {reason} (ConnectionStrings__{name}). Check that the broker runs and the connection string is right, or unset it to let the AppHost run a broker of its own.");
                Environment.ExitCode = 1;
                e.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().StopApplication();
            }
        });
        return broker.WithHealthCheck(ResourceHealthChecks.Register(builder, $"{name}_amqp", () => new AmqpHealthCheck(broker.Resource)));
    }

    private static IResourceBuilder<RabbitMQServerProcessResource> AddServer(
        IDistributedApplicationBuilder builder, string name, BrokerLayout layout, IResourceBuilder<ParameterResource> password, IResourceBuilder<ExecutableResource>? install, string? joinPeer = null)
    {
        var resource = new RabbitMQServerProcessResource(name, layout, password.Resource);
        var broker = builder.AddResource(resource)
            .WithEndpoint(port: layout.AmqpPort, targetPort: layout.AmqpPort, scheme: "amqp", name: RabbitMQProcessNames.AmqpEndpoint, isProxied: false)
            .WithEndpoint(RabbitMQProcessNames.AmqpEndpoint, KeyValueStoreExtensions.OnLoopback)
            .WithHttpEndpoint(port: layout.ManagementPort, targetPort: layout.ManagementPort, name: RabbitMQProcessNames.ManagementEndpoint, isProxied: false)
            .WithEndpoint(RabbitMQProcessNames.ManagementEndpoint, KeyValueStoreExtensions.OnLoopback)
            .WithUrlForEndpoint(RabbitMQProcessNames.ManagementEndpoint, url => url.DisplayText = "Management UI")
            .WithEnvironment(context =>
            {
                foreach (var (key, value) in layout.Environment)
                {
                    context.EnvironmentVariables[key] = value;
                }
            })
            .OnBeforeResourceStarted(async (broker, _, cancellationToken) =>
                broker.Layout.WriteConfiguration(await broker.PasswordParameter.GetValueAsync(cancellationToken).ConfigureAwait(false) ?? layout.Password, joinPeer))
            .WithCommand(RabbitMQProcessNames.KillCommand, "Kill", context => KillAsync(context, resource), new CommandOptions
            {
                Description = "SIGKILL to the broker's Erlang VM and its launcher: it ends at once, as in a crash.",
                IconName = "DismissCircle",
                ConfirmationMessage = $"Kill {name} with SIGKILL?",
                UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
            })
            .WithIconName("Mail");
        broker.WithHealthCheck(ResourceHealthChecks.Register(builder, $"{name}_amqp", () => new AmqpHealthCheck(resource)));
        if (install is not null)
        {
            broker.WaitForCompletion(install);
        }

        return broker;
    }

    private static IResourceBuilder<ExecutableResource> AddEpmd(IDistributedApplicationBuilder builder, string name, int port, string folder, IResourceBuilder<ExecutableResource>? install)
    {
        // In the foreground and run by DCP: left to the Erlang VM, epmd daemonizes and outlives the AppHost.
        var text = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var epmd = builder.AddExecutable($"{name}-epmd", BrokerLayout.EpmdProgram, folder, "-port", text, "-address", "127.0.0.1");
        epmd.WithHealthCheck(ResourceHealthChecks.Register(builder, $"{name}-epmd_listening", () => new TcpPortHealthCheck(port)));
        if (install is not null)
        {
            epmd.WaitForCompletion(install);
        }

        return epmd;
    }

    /// <summary>
    /// Nothing when rabbitmq-server is installed; otherwise the apt install as a step before the
    /// broker (on the dashboard, with its output), or, where it cannot install, a refusal with the command.
    /// </summary>
    private static IResourceBuilder<ExecutableResource>? InstallIfMissing(IDistributedApplicationBuilder builder, string name, AppHostFolder folder)
    {
        if (BrokerLayout.IsInstalled || !builder.ExecutionContext.IsRunMode)
        {
            return null;
        }

        var plan = BrokerInstaller.Decide(BrokerInstaller.Observe(folder.BrokerInstall));
        if (!plan.Install)
        {
            throw new AppHostCannotStartException(
                $"No RabbitMQ broker is available for '{name}': rabbitmq-server is not installed ({BrokerLayout.ServerScript} is missing), no container runtime answers, and {plan.Reason}. Any one of these works:\n" +
                $"  - install RabbitMQ from your package manager: {BrokerInstaller.ExactCommand} (Debian, Ubuntu); the AppHost then runs a private instance of it;\n" +
                "  - start a container runtime (Docker or Podman): the AppHost then runs RabbitMQ in a container;\n" +
                $"  - point at an existing broker: ConnectionStrings__{name}=amqp://user:password@host:5672 dotnet run --project AspireKv.AppHost");
        }

        return builder.AddExecutable($"{name}-install", plan.Launcher[0], folder.StateDirectory, [.. plan.Launcher.Skip(1), BrokerInstaller.Script])
            .WithIconName("ArrowDownload");
    }

    private static async Task<ExecuteCommandResult> KillAsync(ExecuteCommandContext context, RabbitMQServerProcessResource broker)
    {
        var launcher = ResourceProcess.PidOf(context.Services, context.ResourceName);
        var vm = broker.Layout.ReadVmPid();
        if (launcher is null && vm is null)
        {
            return CommandResults.Failure($"{broker.Name} has no process to kill.");
        }

        context.Logger.LogKill(broker.Name);
        await ResourceProcess.KillAsync(vm, launcher).ConfigureAwait(false);
        return CommandResults.Success();
    }

    /// <summary>What was declared for <paramref name="broker"/>: itself and everything under it.</summary>
    private static List<IResource> DeclaredFor(IDistributedApplicationBuilder builder, IResource broker) =>
        [.. builder.Resources.Where(r => r == broker || IsChildOf(r, broker) || IsChildOf(r, builder.Resources.Where(c => IsChildOf(c, broker))))];

    private static bool IsChildOf(IResource resource, IResource parent) =>
        resource.Annotations.OfType<ResourceRelationshipAnnotation>().Any(a => a.Type == "Parent" && a.Resource == parent);

    private static bool IsChildOf(IResource resource, IEnumerable<IResource> parents) => parents.Any(p => IsChildOf(resource, p));
}

internal static partial class BrokerLog
{
    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "{Broker} is killed (SIGKILL), as asked.")]
    public static partial void LogKill(this Microsoft.Extensions.Logging.ILogger logger, string broker);
}
