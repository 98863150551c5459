using Wattstream.Server;

return await CommandLine.RunAsync(args);
