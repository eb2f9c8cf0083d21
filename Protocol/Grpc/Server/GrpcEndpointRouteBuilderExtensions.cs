using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Proxima.Protocol.Grpc;

/// <summary>Maps gRPC methods onto ASP.NET Core endpoints (served by Kestrel over HTTP/2).</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, object> s_fallbacks = new();

    /// <summary>
    /// Registers gRPC server options (<see cref="GrpcServerOptions"/>), validated at first use.
    /// Optional: without it, defaults apply.
    /// </summary>
    public static IServiceCollection AddProximaGrpc(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        var builder = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.Validate(
            o =>
            {
                o.Validate();
                return true;
            });
        return services;
    }

    /// <summary>Maps a unary method at <c>POST /{service}/{method}</c>. Also maps, once per builder,
    /// the UNIMPLEMENTED answer for unknown gRPC methods.</summary>
    public static IEndpointConventionBuilder MapGrpcMethod<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        GrpcMethod<TRequest, TResponse> method,
        UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Type != GrpcMethodType.Unary)
        {
            throw new ArgumentException($"gRPC method {method.FullName} is {method.Type}; a unary handler was given.", nameof(handler));
        }

        return Map(endpoints, method, handler, null);
    }

    /// <summary>Maps a server-streaming method at <c>POST /{service}/{method}</c>.</summary>
    public static IEndpointConventionBuilder MapGrpcMethod<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        GrpcMethod<TRequest, TResponse> method,
        ServerStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Type != GrpcMethodType.ServerStreaming)
        {
            throw new ArgumentException($"gRPC method {method.FullName} is {method.Type}; a server-streaming handler was given.", nameof(handler));
        }

        return Map(endpoints, method, null, handler);
    }

    /// <summary>
    /// Answers gRPC requests for unknown <c>/{service}/{method}</c> paths with UNIMPLEMENTED
    /// (HTTP 200, trailers-only), as gRPC servers do. Non-gRPC requests there get 404. Called
    /// automatically by <c>MapGrpcMethod</c>; idempotent per builder.
    /// </summary>
    public static void MapGrpcUnimplemented(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var added = false;
        s_fallbacks.GetValue(
            endpoints,
            _ =>
            {
                added = true;
                return new object();
            });
        if (!added)
        {
            return;
        }

        var logger = CreateLogger(endpoints);
        endpoints.MapPost("/{service}/{method}", (RequestDelegate)(http => HandleUnimplemented(http, logger)))
            .WithDisplayName("gRPC - unimplemented method")
            .WithOrder(int.MaxValue);
    }

    private static IEndpointConventionBuilder Map<TRequest, TResponse>(
        IEndpointRouteBuilder endpoints,
        GrpcMethod<TRequest, TResponse> method,
        UnaryServerMethod<TRequest, TResponse>? unary,
        ServerStreamingServerMethod<TRequest, TResponse>? streaming)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var options = endpoints.ServiceProvider.GetService<IOptions<GrpcServerOptions>>()?.Value ?? new GrpcServerOptions();
        options.Validate();
        var logger = CreateLogger(endpoints);
        var handler = new ServerCallHandler<TRequest, TResponse>(method, unary, streaming, options, logger);
        var builder = endpoints.MapPost(method.FullName, (RequestDelegate)handler.HandleAsync)
            .WithDisplayName("gRPC - " + method.FullName);
        MapGrpcUnimplemented(endpoints);
        return builder;
    }

    private static ILogger CreateLogger(IEndpointRouteBuilder endpoints) =>
        endpoints.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("Proxima.Protocol.Grpc.Server")
        ?? NullLogger.Instance;

    private static Task HandleUnimplemented(HttpContext http, ILogger logger)
    {
        if (!ServerCallValidation.IsGrpcContentType(http.Request.ContentType))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var path = http.Request.Path.Value ?? string.Empty;
        GrpcServerLog.UnimplementedMethod(logger, path);
        if (!ServerCallValidation.Validate(http, path, logger))
        {
            return Task.CompletedTask;
        }

        var context = new GrpcServerCallContext(http, path, DateTime.MaxValue, http.RequestAborted);
        ServerCallValidation.WriteStatus(http, context, new Status(StatusCode.Unimplemented, "Method not found: " + path), includeTrailers: false);
        return Task.CompletedTask;
    }
}
