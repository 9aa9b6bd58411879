using AspireKv.Hosting.AppModel;

var builder = DistributedApplication.CreateBuilder(args);

var messaging = builder.AddRabbitMQ("messaging");

builder.AddKeyValueNodes("node")
    .WithReference(messaging)
    .WaitFor(messaging);

builder.Build().Run();

/// <summary>The AppHost; public so that tests can start its topology through the testing builder.</summary>
public partial class Program;
