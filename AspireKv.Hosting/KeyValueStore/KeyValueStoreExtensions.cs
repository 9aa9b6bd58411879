using Aspire.Hosting.ApplicationModel;
using AspireKv.Hosting;
using AspireKv.Hosting.AppHost;
using AspireKv.Hosting.KeyValueStore;
using AspireKv.Hosting.RabbitMQ;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

/// <summary>
/// AspireKv in an Aspire AppHost, as Redis is added: <c>builder.AddKeyValueStore("kv").WithReplicas(3).WithReference(messaging).WaitFor(messaging)</c>,
/// then <c>.WithReference(kv)</c> on a project, which calls <c>builder.AddKeyValueClient("kv")</c>.
/// </summary>
public static class KeyValueStoreExtensions
{
    /// <summary>The gRPC endpoint of every node.</summary>
    public const string GrpcEndpoint = "grpc";

    /// <summary>The HTTP endpoint of every node: <c>/health</c>, <c>/alive</c>, and the Replication and Keys pages.</summary>
    public const string HttpEndpoint = "http";

    /// <summary>
    /// Adds a store of <c>Replicas</c> nodes (3 by default) and <c>Spares</c> spares (1), named
    /// <paramref name="nodeNamePrefix"/>1 and on: project resources, each with a data folder of its own.
    /// </summary>
    public static IResourceBuilder<KeyValueStoreResource> AddKeyValueStore(this IDistributedApplicationBuilder builder, string name, string nodeNamePrefix = "node")
    {
        var folder = AppHostFolder.Of(builder);
        var resource = new KeyValueStoreResource(name, nodeNamePrefix);
        var store = builder.AddResource(resource)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "KeyValueStore", State = KnownResourceStates.NotStarted, Properties = [] })
            .WithIconName("Database")
            .OnInitializeResource((store, e, cancellationToken) => ParentState.FollowAsync(store, store.Nodes, "aspirekv.nodes", e, cancellationToken, store.NodeStates));
        store.WithHealthCheck(ResourceHealthChecks.Register(builder, $"{name}_replicas", () => new StoreHealthCheck(resource)));
        return Declare(store, folder.Replicas, folder.Spares);
    }

    /// <summary>Runs <paramref name="replicas"/> nodes from the start (at least one).</summary>
    public static IResourceBuilder<KeyValueStoreResource> WithReplicas(this IResourceBuilder<KeyValueStoreResource> store, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        return Declare(store, replicas, store.Resource.Spares);
    }

    /// <summary>Declares <paramref name="spares"/> more nodes that start only when asked (the dashboard's Start): each joins and catches up from the log or a peer's snapshot.</summary>
    public static IResourceBuilder<KeyValueStoreResource> WithSpares(this IResourceBuilder<KeyValueStoreResource> store, int spares)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spares);
        return Declare(store, store.Resource.Replicas, spares);
    }

    /// <summary>Replicates through <paramref name="broker"/>: every node gets its connection string, its stream ports (for an existing broker, the AppHost's Replication:StreamEndpoints) and its management API.</summary>
    public static IResourceBuilder<KeyValueStoreResource> WithReference(this IResourceBuilder<KeyValueStoreResource> store, IResourceBuilder<IResourceWithConnectionString> broker) =>
        ForEachNode(store, node =>
        {
            var streams = string.Join(',', BrokerEndpoints(broker.Resource).Select(b => b.Stream));
            node.WithReference(broker).WithEnvironment("Replication__ConnectionName", broker.Resource.Name)
                .WithEnvironment("Replication__StreamEndpoints", streams.Length > 0 ? streams : store.ApplicationBuilder.Configuration["Replication:StreamEndpoints"] ?? string.Empty);
            foreach (var (name, management, _) in BrokerEndpoints(broker.Resource))
            {
                node.WithEnvironment($"services__{name}__management__0", management);
            }

            if (broker.Resource is RabbitMQServerResource container)
            {
                // Aspire's RabbitMQ image runs without the rabbitmq_stream plugin: the nodes use the AMQP log.
                node.WithEnvironment($"services__{container.Name}__management__0", container.ManagementEndpoint).WithEnvironment("Replication__Log", "Amqp");
            }
        });

    /// <summary>Every node starts once <paramref name="dependency"/> is running and healthy.</summary>
    public static IResourceBuilder<KeyValueStoreResource> WaitFor(this IResourceBuilder<KeyValueStoreResource> store, IResourceBuilder<IResource> dependency) =>
        ForEachNode(store, node => node.WaitFor(dependency));

    /// <summary>A setting every node gets, such as <c>Replication__StreamMaxLengthBytes</c>.</summary>
    public static IResourceBuilder<KeyValueStoreResource> WithEnvironment(this IResourceBuilder<KeyValueStoreResource> store, string name, string value) =>
        ForEachNode(store, node => node.WithEnvironment(name, value));

    /// <summary>
    /// Gives <paramref name="builder"/> the store's nodes through service discovery: every replica
    /// under the store's name (<c>AddKeyValueClient("kv")</c>), and each node under its own.
    /// </summary>
    public static IResourceBuilder<TDestination> WithReference<TDestination>(this IResourceBuilder<TDestination> builder, IResourceBuilder<KeyValueStoreResource> store)
        where TDestination : IResourceWithEnvironment =>
        builder.WithEnvironment(context =>
        {
            var kv = store.Resource;
            foreach (var (node, index) in kv.ReplicaNodes.Select((n, i) => (n, i)))
            {
                context.EnvironmentVariables[$"services__{kv.Name}__{GrpcEndpoint}__{index}"] = Url(kv.GrpcAddress(node.Name));
            }

            AddEachNode(context.EnvironmentVariables, kv);
        });

    /// <summary>Service discovery of every node under its own name (<c>services__node2__grpc__0</c>).</summary>
    private static void AddEachNode(Dictionary<string, object> environment, KeyValueStoreResource kv)
    {
        foreach (var node in kv.Nodes)
        {
            environment[$"services__{node.Name}__{GrpcEndpoint}__0"] = Url(kv.GrpcAddress(node.Name));
        }
    }

    /// <summary>Applies <paramref name="convention"/> to every node, those declared already and those declared later.</summary>
    private static IResourceBuilder<KeyValueStoreResource> ForEachNode(IResourceBuilder<KeyValueStoreResource> store, Action<IResourceBuilder<ProjectResource>> convention)
    {
        store.Resource.Conventions.Add(convention);
        foreach (var node in store.Resource.NodeBuilders)
        {
            convention(node);
        }

        return store;
    }

    /// <summary>(Re)declares the nodes: replicas then spares, numbered from 1, each with what the declaration said of all.</summary>
    private static IResourceBuilder<KeyValueStoreResource> Declare(IResourceBuilder<KeyValueStoreResource> store, int replicas, int spares)
    {
        var kv = store.Resource;
        var builder = store.ApplicationBuilder;
        var folder = AppHostFolder.Of(builder);
        foreach (var old in kv.NodeBuilders)
        {
            // With what Aspire added for it (the project's rebuilder).
            foreach (var companion in builder.Resources.Where(r => r.Name.StartsWith(old.Resource.Name + "-", StringComparison.OrdinalIgnoreCase) && r.GetType().Name == "ProjectRebuilderResource").ToList())
            {
                builder.Resources.Remove(companion);
            }

            builder.Resources.Remove(old.Resource);
            folder.Published.RemoveAll(p => p.Resource == old.Resource);
            folder.ReadyWhenHealthy.Remove(old.Resource);
        }

        kv.NodeBuilders.Clear();
        kv.Replicas = replicas;
        kv.Spares = spares;
        for (var i = 1; i <= replicas + spares; i++)
        {
            var node = AddNode(store, $"{kv.NodeNamePrefix}{i}", spare: i > replicas);
            kv.NodeBuilders.Add(node);
            folder.Published.Add((node.Resource, "node"));
            if (i <= replicas)
            {
                folder.ReadyWhenHealthy.Add(node.Resource);
            }

            foreach (var convention in kv.Conventions)
            {
                convention(node);
            }
        }

        return store;
    }

    private static IResourceBuilder<ProjectResource> AddNode(IResourceBuilder<KeyValueStoreResource> store, string name, bool spare)
    {
        var kv = store.Resource;
        var builder = store.ApplicationBuilder;
        var folder = AppHostFolder.Of(builder);
        if (!kv.Ports.TryGetValue(name, out var ports))
        {
            ports = kv.Ports[name] = (AspireKv.Hosting.PortAllocator.Next(), AspireKv.Hosting.PortAllocator.Next());
            ResourceHealthChecks.Register(builder, $"{name}_serving", () => new NodeHealthCheck(name, kv.HttpAddress(name)));
        }

        // The built node, run directly: no `dotnet run` (and its MSBuild evaluation and 130 MB
        // wrapper process) in front of it, so the resource's pid is the node's own.
        var assembly = ResourceProjects.GetPath(ResourceProjects.Node);
        var node = builder.AddProject(name, ResourceProjects.GetProjectFile(ResourceProjects.Node), o =>
            {
                o.ExcludeLaunchProfile = true;
                o.ExcludeKestrelEndpoints = true;
            })
            .WithAnnotation(new ExecutableAnnotation { Command = Programs.DotNet, WorkingDirectory = Path.GetDirectoryName(assembly)! })
            .WithArgs(assembly)
            .WithHttpEndpoint(port: ports.Grpc, targetPort: ports.Grpc, name: GrpcEndpoint, isProxied: false)
            .WithHttpEndpoint(port: ports.Http, targetPort: ports.Http, name: HttpEndpoint, isProxied: false)
            .WithEndpoint(GrpcEndpoint, e => e.Transport = "http2")
            .WithEndpoint(GrpcEndpoint, OnLoopback)
            .WithEndpoint(HttpEndpoint, OnLoopback)
            .WithEnvironment(context =>
            {
                var environment = context.EnvironmentVariables;

                // The node's own appsettings name these endpoints; on loopback, off DCP's proxy.
                environment.Remove("ASPNETCORE_URLS");
                environment[$"Kestrel__Endpoints__{GrpcEndpoint}__Url"] = Url(kv.GrpcAddress(name));
                environment[$"Kestrel__Endpoints__{HttpEndpoint}__Url"] = Url(kv.HttpAddress(name));
                environment["Node__DataPath"] = folder.FolderOf(name);
                environment["DOTNET_ENVIRONMENT"] = builder.Environment.EnvironmentName;
                environment["Logging__Console__FormatterOptions__SingleLine"] = "true";

                // A node stopping beside a dashboard that stops too gives up exporting after 1 s. With no
                // dashboard and no collector named, Aspire still gives its default OTLP address: a node
                // would trace every call for nobody (a fifth of its read throughput; docs/benchmarks.md).
                environment["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1000";
                if (context.ExecutionContext.Services.GetService<DistributedApplicationOptions>() is { DisableDashboard: true } && string.IsNullOrEmpty(builder.Configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"]))
                {
                    environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
                }

                AddEachNode(environment, kv);
            })
            .WithUrls(context =>
            {
                context.Urls.Add(new ResourceUrlAnnotation { Url = new Uri(kv.HttpAddress(name), "/replication").ToString(), DisplayText = "Replication" });
                context.Urls.Add(new ResourceUrlAnnotation { Url = new Uri(kv.HttpAddress(name), "/keys").ToString(), DisplayText = "Keys" });
            })
            .WithHealthCheck($"{name}_serving")
            .WithParentRelationship(store)
            .OnBeforeResourceStarted((node, _, _) =>
            {
                lock (folder.Left)
                {
                    folder.Left.Remove(node.Name);
                }

                Directory.CreateDirectory(folder.FolderOf(node.Name));
                return Task.CompletedTask;
            });
        NodeCommands.Add(node, kv, folder);
        if (spare)
        {
            node.WithExplicitStart();
        }

        return node;
    }

    /// <summary>Each private broker's management API, by broker name, for the nodes' Replication page.</summary>
    private static IEnumerable<(string Name, string Management, string Stream)> BrokerEndpoints(IResourceWithConnectionString broker) => broker switch
    {
        RabbitMQServerProcessResource process => [(process.Name, Url(process.Layout.ManagementUrl), $"127.0.0.1:{process.Layout.StreamPort}")],
        RabbitMQClusterResource cluster => cluster.Brokers.Select(b => (b.Name, Url(b.Layout.ManagementUrl), $"127.0.0.1:{b.Layout.StreamPort}")),
        _ => [],
    };

    /// <summary>Nodes listen on 127.0.0.1, so their endpoints say so: "localhost" may resolve to ::1 first.</summary>
    internal static void OnLoopback(EndpointAnnotation endpoint) => endpoint.TargetHost = "127.0.0.1";

    private static string Url(Uri address) => address.ToString().TrimEnd('/');
}
