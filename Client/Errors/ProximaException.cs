namespace Proxima.Client;

/// <summary>A request to a Proxima router failed. Subclasses say why; <see cref="Code"/> carries the
/// router's error code (DESIGN.md §4: <c>unknown_dataset</c>, <c>invalid_range</c>, ...).</summary>
public class ProximaException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public ProximaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public ProximaException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception carrying the router's error code and HTTP status.</summary>
    public ProximaException(string message, string? code, int? httpStatus, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        HttpStatus = httpStatus;
    }

    /// <summary>Creates an exception without details.</summary>
    public ProximaException()
    {
    }

    /// <summary>The router's error code (for example <c>unknown_dataset</c>), when it sent one.</summary>
    public string? Code { get; }

    /// <summary>The HTTP status of the failure (gRPC statuses are mapped to their HTTP equivalents).</summary>
    public int? HttpStatus { get; }
}

/// <summary>The router refused the credentials: no token, or a wrong one (HTTP 401, gRPC UNAUTHENTICATED).
/// Pass the token from <c>STATE/token</c> in <see cref="ProximaClientOptions.Token"/>.</summary>
public sealed class ProximaAuthenticationException : ProximaException
{
    /// <summary>Creates the exception.</summary>
    public ProximaAuthenticationException(string message, Exception? innerException = null)
        : base(message, "unauthenticated", 401, innerException)
    {
    }
}

/// <summary>The caller may not read a dataset (HTTP 403, gRPC PERMISSION_DENIED).</summary>
public sealed class ProximaAccessDeniedException : ProximaException
{
    /// <summary>Creates the exception.</summary>
    public ProximaAccessDeniedException(string message, string? code, Exception? innerException = null)
        : base(message, code, 403, innerException)
    {
    }
}

/// <summary>The router rejected the query (HTTP 400, gRPC INVALID_ARGUMENT): an unknown dataset,
/// variable or op, a malformed range, a limit. <see cref="Field"/> names the offending part of the
/// QuerySpec, for example <c>select.lat</c> or <c>datasets[0]</c>.</summary>
public sealed class ProximaQueryException : ProximaException
{
    /// <summary>Creates the exception.</summary>
    public ProximaQueryException(string message, string? code, string? field, int httpStatus = 400, Exception? innerException = null)
        : base(message, code, httpStatus, innerException)
    {
        Field = field;
    }

    /// <summary>The QuerySpec field at fault (JSON path such as <c>select.lat</c>), when the router named one.</summary>
    public string? Field { get; }
}

/// <summary>A region holding part of the answer is unavailable and the query did not allow a
/// partial answer (HTTP 503, gRPC UNAVAILABLE), or the router itself cannot be reached.</summary>
public sealed class ProximaUnavailableException : ProximaException
{
    /// <summary>Creates the exception.</summary>
    public ProximaUnavailableException(string message, string? code, string? region, Exception? innerException = null)
        : base(message, code, 503, innerException)
    {
        Region = region;
    }

    /// <summary>The unavailable region, or null when the router itself could not be reached.</summary>
    public string? Region { get; }
}

/// <summary>The query's deadline passed before it finished (HTTP 504, gRPC DEADLINE_EXCEEDED).</summary>
public sealed class ProximaDeadlineExceededException : ProximaException
{
    /// <summary>Creates the exception.</summary>
    public ProximaDeadlineExceededException(string message, Exception? innerException = null)
        : base(message, "deadline_exceeded", 504, innerException)
    {
    }
}
