using System.Globalization;

namespace Proxima.Protocol.Grpc;

/// <summary>Header names and values of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string ContentTypeProto = "application/grpc+proto";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string MessageTypeHeader = "grpc-message-type";
    public const string TeHeader = "te";
    public const string TeTrailers = "trailers";
    public const string IdentityEncoding = "identity";
    public const string GzipEncoding = "gzip";
    public const string SupportedEncodings = "identity,gzip";
    public const string UserAgent = "grpc-dotnet-proxima/1.0";

    /// <summary>gRPC's default maximum received message size (4 MiB).</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Compressed-Flag (1 byte) + Message-Length (4 bytes, big endian).</summary>
    public const int MessageHeaderSize = 5;

    /// <summary>True for <c>application/grpc</c> and <c>application/grpc+proto</c> (and parameters);
    /// other <c>application/grpc+xyz</c> subtypes (json, web) are not protobuf and are rejected.</summary>
    public static bool IsGrpcProtoContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var rest = contentType.AsSpan(ContentType.Length);
        if (rest[0] == ';')
        {
            return true;
        }

        if (rest[0] != '+')
        {
            // e.g. application/grpc-web
            return false;
        }

        rest = rest[1..];
        var semi = rest.IndexOf(';');
        if (semi >= 0)
        {
            rest = rest[..semi];
        }

        return rest.Trim().Equals("proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Headers that are part of the gRPC call definition and not custom metadata.</summary>
    public static bool IsReservedHeader(string name) =>
        name.Length == 0
        || name[0] == ':'
        || name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "content-type", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "te", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "host", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "content-length", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "accept-encoding", StringComparison.OrdinalIgnoreCase);

    /// <summary>Maps an HTTP status of a non-gRPC response to a gRPC status
    /// (grpc/doc/http-grpc-status-mapping.md).</summary>
    public static Status StatusFromHttpStatus(int httpStatus)
    {
        var code = httpStatus switch
        {
            400 => StatusCode.Internal,
            401 => StatusCode.Unauthenticated,
            403 => StatusCode.PermissionDenied,
            404 => StatusCode.Unimplemented,
            429 or 502 or 503 or 504 => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };
        return new Status(code, "Bad gRPC response. HTTP status code: " + httpStatus.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Maps an HTTP/2 RST_STREAM/GOAWAY error code to a gRPC status (PROTOCOL-HTTP2.md, Errors).
    /// A NO_ERROR close that comes before any response header is a graceful shutdown (GOAWAY, then the
    /// connection closed) that the call never reached the server's handler through: UNAVAILABLE, which
    /// callers may retry, as gRPC's transports report a closing transport.</summary>
    public static StatusCode StatusFromHttp2ErrorCode(long errorCode, bool beforeResponseHeaders) =>
        errorCode == 0x0 && beforeResponseHeaders ? StatusCode.Unavailable : StatusFromHttp2ErrorCode(errorCode);

    /// <summary>Maps an HTTP/2 RST_STREAM/GOAWAY error code to a gRPC status (PROTOCOL-HTTP2.md, Errors).</summary>
    public static StatusCode StatusFromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable, // REFUSED_STREAM
        0x8 => StatusCode.Cancelled, // CANCEL
        0xb => StatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
        0xc => StatusCode.PermissionDenied, // INADEQUATE_SECURITY
        _ => StatusCode.Internal,
    };

    /// <summary>Parses a <c>grpc-status</c> value: decimal digits without leading zeros.</summary>
    public static bool TryParseStatusCode(string? value, out StatusCode code)
    {
        code = StatusCode.Unknown;
        if (string.IsNullOrEmpty(value) || value.Length > 9)
        {
            return false;
        }

        var n = 0;
        foreach (var c in value)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            n = (n * 10) + (c - '0');
        }

        // Codes outside 0..16 are passed through as-is (callers see an unnamed enum value), as other
        // implementations do; they are not an error.
        code = (StatusCode)n;
        return true;
    }

    private static readonly string[] s_statusStrings = CreateStatusStrings();

    /// <summary>Decimal text of a status code without allocation for the defined codes.</summary>
    public static string StatusCodeToString(StatusCode code)
    {
        var n = (int)code;
        return (uint)n < (uint)s_statusStrings.Length ? s_statusStrings[n] : n.ToString(CultureInfo.InvariantCulture);
    }

    private static string[] CreateStatusStrings()
    {
        var a = new string[17];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return a;
    }
}
