var builder = DistributedApplication.CreateBuilder(args);

var messaging = builder.AddRabbitMQBroker("messaging");
var kv = builder.AddKeyValueStore("kv")
    .WithReplicas(2)
    .WithSpares(0)
    .WithReference(messaging)
    .WaitFor(messaging);

builder.AddProject<Projects.AspireKv_SampleApi>("api")
    .WithHttpEndpoint(name: "http")
    .WithHttpHealthCheck("/health")
    .WithReference(kv)
    .WaitFor(kv);

builder.Build().Run();
