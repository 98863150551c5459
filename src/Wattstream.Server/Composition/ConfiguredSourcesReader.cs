using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Wattstream.Sources;

namespace Wattstream.Server.Composition;

/// <summary>Reads the <c>Sources</c> list, validated: a bad entry stops the start with a message naming it.</summary>
internal static class ConfiguredSourcesReader
{
    public static ConfiguredSources Read(IConfiguration configuration)
    {
        var sources = configuration.GetSection(Settings.WattstreamSettings.SourcesSection).Get<List<SourceOptions>>() ?? [];
        for (var i = 0; i < sources.Count; i++)
        {
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(sources[i], new(sources[i]), results, validateAllProperties: true))
            {
                throw new OptionsValidationException($"Sources:{i}", typeof(SourceOptions), results.Select(r => $"Sources:{i}: {r.ErrorMessage}"));
            }
        }

        var duplicate = sources.GroupBy(s => s.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new OptionsValidationException("Sources", typeof(SourceOptions), [$"Two sources have the id '{duplicate.Key}'."]);
        }

        return new ConfiguredSources(sources);
    }
}
