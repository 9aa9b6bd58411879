using AspireKv.Hosting.AppModel;

var builder = DistributedApplication.CreateBuilder(args);

// The nodes get ConnectionStrings__messaging: the name given here. .WithClusterSize(3) (or
// --brokers 3) runs it as a RabbitMQ cluster of three brokers.
var messaging = builder.AddRabbitMQ("messaging");

builder.AddKeyValueNodes("node")
    .WithReference(messaging)
    .WaitFor(messaging);

builder.Build().Run();

/// <summary>The AppHost; public so that tests can start its topology through the testing builder.</summary>
public partial class Program;
