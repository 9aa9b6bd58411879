Console.Error.WriteLine("The aspirekv CLI arrives with the CLI issue.");
return 2;
