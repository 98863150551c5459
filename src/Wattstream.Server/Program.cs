using Wattstream.Server.Commands;

return await WattstreamRootCommand.RunAsync(args);
