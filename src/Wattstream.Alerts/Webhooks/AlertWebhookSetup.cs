using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Wattstream.Alerts.Webhooks;

/// <summary>The webhooks' HTTP client: retries with exponential backoff and jitter, a timeout per attempt.</summary>
public static class AlertWebhookSetup
{
    public static IServiceCollection AddAlertWebhookClient(this IServiceCollection services)
    {
        services.AddTransient<AttemptCounter>();
        var client = services.AddHttpClient(WebhookDispatcher.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan); // the pipeline times attempts
        client.AddResilienceHandler("alert-webhook", (pipeline, context) =>
            {
                var o = context.ServiceProvider.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value;
                if (o.MaxAttempts > 1)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = o.MaxAttempts - 1,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = o.RetryDelay,
                        // The default predicate: 5xx, 408, 429, connection errors and attempt timeouts.
                    });
                }

                pipeline.AddTimeout(o.AttemptTimeout);
            });
        client.AddHttpMessageHandler<AttemptCounter>(); // added after the resilience handler, so inside it: it sees every attempt
        return services;
    }
}
