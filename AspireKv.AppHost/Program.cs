Console.Error.WriteLine("The AppHost arrives with the AppHost issue; for now run a node with: Replication__Log=InMemory dotnet run --project AspireKv.Node");
return 1;
