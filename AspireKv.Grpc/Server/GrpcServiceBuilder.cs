using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireKv.Grpc.Server;

/// <summary>Binds the methods of one service to the instance methods that serve them.</summary>
public sealed class GrpcServiceBuilder<TService>
    where TService : class
{
    private readonly List<(string Path, RequestDelegate Handler)> _methods = [];

    public GrpcServiceBuilder(string serviceName) => ServiceName = serviceName;

    public string ServiceName { get; }

    internal IReadOnlyList<(string Path, RequestDelegate Handler)> Methods => _methods;

    public GrpcServiceBuilder<TService> AddUnary<TRequest, TResponse>(
        Method<TRequest, TResponse> method, Func<TService, TRequest, ServerCallContext, Task<TResponse>> handler)
    {
        Check(method, MethodType.Unary);
        _methods.Add((method.FullName, http => CreateCall(http, method).RunAsync(async (call, context) =>
        {
            var request = await call.ReadSingleRequestAsync(context.CancellationToken).ConfigureAwait(false);
            var response = await handler(Resolve(http), request, context).ConfigureAwait(false);
            await call.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        })));
        return this;
    }

    public GrpcServiceBuilder<TService> AddServerStreaming<TRequest, TResponse>(
        Method<TRequest, TResponse> method, Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
    {
        Check(method, MethodType.ServerStreaming);
        _methods.Add((method.FullName, http => CreateCall(http, method).RunAsync(async (call, context) =>
        {
            var request = await call.ReadSingleRequestAsync(context.CancellationToken).ConfigureAwait(false);
            await handler(Resolve(http), request, call, context).ConfigureAwait(false);
        })));
        return this;
    }

    private void Check<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType expected)
    {
        if (method.ServiceName != ServiceName)
        {
            throw new ArgumentException($"Method {method.FullName} belongs to service '{method.ServiceName}', not '{ServiceName}'.", nameof(method));
        }

        if (method.Type != expected)
        {
            throw new ArgumentException($"Method {method.FullName} is {method.Type}, not {expected}.", nameof(method));
        }
    }

    private static ServerCall<TRequest, TResponse> CreateCall<TRequest, TResponse>(HttpContext http, Method<TRequest, TResponse> method)
    {
        var services = http.RequestServices;
        var options = services.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("AspireKv.Grpc.Server");
        return new ServerCall<TRequest, TResponse>(http, method, options, logger);
    }

    private static TService Resolve(HttpContext http) => ActivatorUtilities.GetServiceOrCreateInstance<TService>(http.RequestServices);
}
