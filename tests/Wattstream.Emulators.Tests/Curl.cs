using System.Diagnostics;

namespace Wattstream.Emulators.Tests;

/// <summary>curl, an independent HTTP client (scripts/test.sh installs it when missing).</summary>
internal static class Curl
{
    public static async Task<(int ExitCode, string Body, int Status)> GetAsync(params string[] args)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-s", "-m", "10", "-w", "\n%{http_code}" }.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var split = output.LastIndexOf('\n');
        return (process.ExitCode, output[..split], int.Parse(output[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
