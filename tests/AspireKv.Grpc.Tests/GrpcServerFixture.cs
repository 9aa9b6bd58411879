using System.Net;
using AspireKv.Grpc.Client;
using AspireKv.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireKv.Grpc.Tests;

/// <summary>A real Kestrel server on a free loopback port, serving <see cref="EchoService"/> over h2c.</summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public EchoService Service { get; } = new();

    public Uri Address { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddSingleton(Service);
        builder.Services.AddGrpcRuntime();
        _app = builder.Build();
        _app.MapGrpcService<EchoService>(EchoService.ServiceName, s => s
            .AddUnary(EchoService.Echo, (svc, request, context) => svc.HandleEcho(request, context))
            .AddServerStreaming(EchoService.Count, (svc, request, writer, context) => svc.HandleCount(request, writer, context)));
        await _app.StartAsync();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        Address = new Uri(addresses[0]);
        Http1Address = new Uri(addresses[1]);
        Channel = GrpcChannel.ForAddress(Address);
    }

    public Uri Http1Address { get; private set; } = null!;

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
