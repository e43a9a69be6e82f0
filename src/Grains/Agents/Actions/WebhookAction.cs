using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Agents.Actions;

/// <summary>
/// POSTs JSON (<c>body</c>, else the settings' <c>payload</c>, else an empty object) to <c>url</c>, whose host must be on the
/// tenant's allow-list (managed by its admins, not by whoever writes the agent). The host's addresses are resolved
/// and checked before connecting, and the connection goes to the checked address (no DNS rebinding): private,
/// link-local and unspecified addresses are refused always, loopback unless <see cref="AgentOptions.AllowLoopbackWebhooks"/>.
/// No redirects; at most <c>timeoutMs</c> (default 10 s, at most 30 s) and <see cref="AgentOptions.WebhookMaxResponseBytes"/>
/// of response. 408, 429 and 5xx answers are retried; other 4xx are final.
/// </summary>
public sealed class WebhookAction(AgentSql agentSql, IOptions<AgentOptions> options) : IAgentAction
{
    /// <summary>The agent type.</summary>
    public const string TypeName = "webhook";

    /// <inheritdoc />
    public string Type => TypeName;

    /// <inheritdoc />
    public string? RequiredPermission => null;

    /// <inheritdoc />
    public void Validate(AgentSettings settings)
    {
        if (settings.OptionalString("url", 2000) is { } url)
        {
            ParseUrl(url);
        }

        settings.OptionalObject("body");
        settings.OptionalInteger("timeoutMs", 100, 30_000);
    }

    /// <inheritdoc />
    public async Task<AgentOutcome> RunAsync(AgentRun run, CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        var url = ParseUrl(settings.String("url", 2000));
        var allowed = await agentSql.ListWebhookHostsAsync(run.TenantId);
        if (!allowed.Contains(url.IdnHost, StringComparer.OrdinalIgnoreCase))
        {
            return new AgentOutcome.Failed($"The host '{url.IdnHost}' is not on the tenant's webhook allow-list.", Retryable: false);
        }

        var address = await CheckedAddressAsync(url, cancellationToken);
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var timeout = TimeSpan.FromMilliseconds(settings.OptionalInteger("timeoutMs", 100, 30_000) ?? 10_000);
        using var client = new HttpClient(handler) { Timeout = timeout };
        var body = settings.OptionalObject("body") ?? settings.OptionalObject("payload") ?? [];
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("X-Phantom-Execution", run.ExecutionId.ToString());
        request.Headers.Add("X-Phantom-Attempt", run.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new AgentOutcome.Failed($"POST {url.GetLeftPart(UriPartial.Path)} failed: {e.Message}", Retryable: true);
        }

        using (response)
        {
            var text = await ReadBoundedAsync(response, cancellationToken);
            var status = (int)response.StatusCode;
            run.Log.Info($"POST {url.GetLeftPart(UriPartial.Path)} answered {status}", new { status, bytes = text.Length });
            if (!response.IsSuccessStatusCode)
            {
                return new AgentOutcome.Failed($"The webhook answered {status}.",
                    Retryable: PlatformCalls.Retryable(status) && status != 409 && status != 412);
            }

            var output = new JsonObject { ["status"] = status };
            try
            {
                output["body"] = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                output["text"] = text;
            }

            return new AgentOutcome.Completed(output);
        }
    }

    private static Uri ParseUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" && parsed.UserInfo.Length == 0
            ? parsed
            : throw PhantomException.Invalid("url is an absolute http(s) URL without user information.", "url");

    private async Task<IPAddress> CheckedAddressAsync(Uri url, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(url.IdnHost, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new AgentFailure($"The host '{url.IdnHost}' has no address.", retryable: true);
        }

        if (addresses.FirstOrDefault(address => !Allowed(address)) is { } refused)
        {
            throw new AgentFailure($"The host '{url.IdnHost}' resolves to an address webhooks may not call ({refused}).", retryable: false);
        }

        return addresses[0];
    }

    private bool Allowed(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return options.Value.AllowLoopbackWebhooks;
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
            || address.IsIPv6UniqueLocal || address.IsIPv6Multicast)
        {
            return false;
        }

        var bytes = address.GetAddressBytes();
        return address.AddressFamily != AddressFamily.InterNetwork || !(bytes[0] == 10 || bytes[0] == 0 || (bytes[0] == 172
            && bytes[1] is >= 16 and <= 31)
            || (bytes[0] == 192 && bytes[1] == 168) || (bytes[0] == 169 && bytes[1] == 254) || (bytes[0] == 100 && bytes[1] is >= 64 and <= 127)
            || bytes[0] >= 224);
    }

    private async Task<string> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[options.Value.WebhookMaxResponseBytes];
        var filled = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return Encoding.UTF8.GetString(buffer, 0, filled);
    }
}
