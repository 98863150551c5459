using Wattstream.Server;

var app = WattstreamApp.Build(args);
await app.RunAsync();
