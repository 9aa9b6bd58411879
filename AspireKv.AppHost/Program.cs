// The topology: one RabbitMQ broker (`--brokers 3`, or .WithClusterSize(3), for a cluster of three)
// and the replica nodes, each waiting for it. Options: `dotnet run --project AspireKv.AppHost -- --help`.
var builder = DistributedApplication.CreateBuilder(AspireKvAppHost.Options(args));

var messaging = builder.AddRabbitMQBroker("messaging");

builder.AddKeyValueStore("kv")
    .WithReference(messaging)
    .WaitFor(messaging);

builder.Build().Run();
