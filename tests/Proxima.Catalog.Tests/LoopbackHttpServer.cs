using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Proxima.Tests;

/// <summary>A request as it arrived on the wire.</summary>
internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string Line => Method + " " + PathAndQuery;
}

/// <summary>A reply the test scripts: status, JSON body, extra headers.</summary>
internal sealed record ScriptedResponse(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>Kestrel on 127.0.0.1:0 that records every request and answers from a test-supplied function.</summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private LoopbackHttpServer(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public static async Task<LoopbackHttpServer> StartAsync(Func<RecordedRequest, ScriptedResponse> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackHttpServer(app);
        app.Run(async ctx =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var h in ctx.Request.Headers)
            {
                headers[h.Key] = h.Value.ToString();
            }

            string path = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget.TrimStart('/');
            var rec = new RecordedRequest(ctx.Request.Method, path, headers, ms.ToArray());
            server._requests.Enqueue(rec);
            ScriptedResponse resp;
            try
            {
                resp = handler(rec);
            }
            catch (Exception e)
            {
                resp = new ScriptedResponse(599, "test handler failed: " + e.Message);
            }

            ctx.Response.StatusCode = resp.Status;
            ctx.Response.ContentType = "application/json";
            foreach (var h in resp.Headers ?? new Dictionary<string, string>())
            {
                ctx.Response.Headers[h.Key] = h.Value;
            }

            await ctx.Response.WriteAsync(resp.Body);
        });
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUri = new Uri(address + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
