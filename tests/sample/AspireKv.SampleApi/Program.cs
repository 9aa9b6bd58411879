using AspireKv.Client;
using AspireKv.V1;

// The store's replicas come from service discovery (services__kv__grpc__N), given by WithReference(kv).
var builder = WebApplication.CreateBuilder(args);
builder.AddKeyValueClient("kv");

var app = builder.Build();
app.MapGet("/health", () => "Healthy");
app.MapPost("/notes/{key}", async (string key, HttpRequest request, KvClient kv) =>
{
    using var reader = new StreamReader(request.Body);
    var put = await kv.PutAsync($"notes/{key}", await reader.ReadToEndAsync());
    return Results.Ok(new { revision = put.Revision });
});
app.MapGet("/notes/{key}", async (string key, KvClient kv) =>
{
    var got = await kv.GetAsync($"notes/{key}", Consistency.Linearizable);
    return got.Found ? Results.Ok(new { value = got.Entry.Value.ToStringUtf8(), revision = got.Entry.ModRevision }) : Results.NotFound();
});
app.Run();
