using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Wattstream.Benchmarks.DurablePushBenchmark).Assembly).Run(args);
