using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxima.Protocol.Grpc;

namespace Proxima.Protocol.Tests.Infrastructure;

/// <summary>A real Kestrel server on 127.0.0.1 port 0 (h2c, or TLS when given a certificate),
/// recording every log entry at Warning or above so tests can fail on unexpected server errors.</summary>
public sealed class TestGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGrpcServer(WebApplication app, Uri address, LogSink sink)
    {
        _app = app;
        Address = address;
        Logs = sink;
    }

    public Uri Address { get; }

    public LogSink Logs { get; }

    public static async Task<TestGrpcServer> StartAsync(
        Action<IEndpointRouteBuilder> map,
        X509Certificate2? certificate = null,
        Action<GrpcServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(o => o.ListenGrpcLoopback(0, certificate));
        var sink = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(sink);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Services.AddProximaGrpc(configure);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().GetListenAddresses()[0];
        if (certificate is not null)
        {
            // Kestrel reports 127.0.0.1; the certificate names localhost and 127.0.0.1 both.
            address = new UriBuilder(address) { Scheme = Uri.UriSchemeHttps }.Uri;
        }

        return new TestGrpcServer(app, address, sink);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Fails if anything was logged at Error or above (grpc-dotnet's VerifyNoErrorsScope).</summary>
    public void AssertNoErrors()
    {
        var errors = Logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("Server logged errors:\n" + string.Join("\n", errors));
        }
    }

    public sealed record LogEntry(LogLevel Level, string Category, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}: {Message} {Exception}";
    }

    public sealed class LogSink : ILoggerProvider
    {
        public ConcurrentQueue<LogEntry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new SinkLogger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class SinkLogger(LogSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception));
        }
    }
}
