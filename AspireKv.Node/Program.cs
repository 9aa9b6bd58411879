using AspireKv.Node.Hosting;
using AspireKv.Node.Pages;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddKeyValueNode();

var app = builder.Build();
app.MapKeyValueService();
app.MapDefaultEndpoints();
app.MapNodePages();
app.Run();
