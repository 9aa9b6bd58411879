using AspireKv.Grpc.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AspireKv.Grpc.Server;

/// <summary>Registers the runtime and maps gRPC services onto ASP.NET Core endpoint routing.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    public static IServiceCollection AddGrpcRuntime(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        services.AddRouting();
        services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddSingleton<GrpcServiceRegistry>();
        return services;
    }

    /// <summary>
    /// Maps every method of a service to <c>POST /package.Service/Method</c>. Calls to a method or
    /// service that is not mapped get UNIMPLEMENTED.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService<TService>(
        this IEndpointRouteBuilder endpoints, string serviceName, Action<GrpcServiceBuilder<TService>> configure)
        where TService : class
    {
        var registry = endpoints.ServiceProvider.GetService<GrpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddGrpcRuntime() before mapping gRPC services.");
        var builder = new GrpcServiceBuilder<TService>(serviceName);
        configure(builder);
        registry.Add(serviceName);

        var group = endpoints.MapGroup(string.Empty);
        foreach (var (path, handler) in builder.Methods)
        {
            group.MapPost(path, handler).WithDisplayName($"gRPC {path}");
        }

        if (registry.TryClaimFallback())
        {
            endpoints.MapFallback("{**path}", context => AnswerUnimplementedAsync(context, registry)).WithDisplayName("gRPC unimplemented");
        }

        return group;
    }

    private static Task AnswerUnimplementedAsync(HttpContext context, GrpcServiceRegistry registry)
    {
        var request = context.Request;
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType) || !HttpMethods.IsPost(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var path = request.Path.Value ?? string.Empty;
        var parts = path.TrimStart('/').Split('/', 2);
        var service = parts[0];
        var message = registry.HasService(service)
            ? $"Method '{(parts.Length > 1 ? parts[1] : string.Empty)}' is not implemented by service '{service}'."
            : $"Service '{service}' is not implemented by this server.";

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = GrpcProtocol.ContentType;
        StatusWriter.WriteHeaders(context.Response, new Status(StatusCode.Unimplemented, message));
        return Task.CompletedTask;
    }
}

/// <summary>The services and methods mapped so far, to tell an unknown service from an unknown method.</summary>
internal sealed class GrpcServiceRegistry
{
    private readonly HashSet<string> _services = new(StringComparer.Ordinal);
    private int _fallbackClaimed;

    public void Add(string service)
    {
        lock (_services)
        {
            _services.Add(service);
        }
    }

    public bool HasService(string service)
    {
        lock (_services)
        {
            return _services.Contains(service);
        }
    }

    public bool TryClaimFallback() => Interlocked.Exchange(ref _fallbackClaimed, 1) == 0;
}
