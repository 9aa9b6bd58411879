namespace AspireKv.Hosting.AppModel;

/// <summary>Declares one resource, or a group of like resources, and how it relates to others.</summary>
public sealed class ResourceBuilder<T>
    where T : Resource
{
    internal ResourceBuilder(IReadOnlyList<T> resources) => Resources = resources;

    public IReadOnlyList<T> Resources { get; }

    /// <summary>The resource, when the builder declares exactly one.</summary>
    public T Resource => Resources.Count == 1 ? Resources[0] : throw new InvalidOperationException($"This builder declares {Resources.Count} resources.");

    /// <summary>Starts these resources only once <paramref name="dependency"/> is running and healthy.</summary>
    public ResourceBuilder<T> WaitFor<TOther>(ResourceBuilder<TOther> dependency)
        where TOther : Resource
    {
        foreach (var resource in Resources)
        {
            foreach (var other in dependency.Resources)
            {
                resource.Annotations.Add(new WaitAnnotation(other));
            }
        }

        return this;
    }

    /// <summary>Adds an annotation to each resource this builder declares.</summary>
    public ResourceBuilder<T> WithAnnotation(IResourceAnnotation annotation)
    {
        foreach (var resource in Resources)
        {
            resource.Annotations.Add(annotation);
        }

        return this;
    }
}

/// <summary>The relations that only some kinds of resource have.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>
    /// Gives the nodes the broker's connection string as <c>ConnectionStrings__&lt;name&gt;</c>, under
    /// the broker resource's own name (and <c>Replication__ConnectionName</c> naming it).
    /// </summary>
    public static ResourceBuilder<NodeResource> WithReference(this ResourceBuilder<NodeResource> nodes, ResourceBuilder<RabbitMqResource> broker) =>
        nodes.WithAnnotation(new ReferenceAnnotation(broker.Resource));

    /// <summary>Sets an environment variable on the nodes.</summary>
    public static ResourceBuilder<NodeResource> WithEnvironment(this ResourceBuilder<NodeResource> nodes, string name, string? value) =>
        nodes.WithAnnotation(new EnvironmentAnnotation(name, value));
}
