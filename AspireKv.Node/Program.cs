using AspireKv.Node.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddKeyValueNode();

var app = builder.Build();
app.MapKeyValueService();
app.MapDefaultEndpoints();
app.Run();
