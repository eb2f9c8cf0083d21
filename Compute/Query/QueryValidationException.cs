namespace Proxima.Compute.Query;

/// <summary>
/// A query that cannot be answered as written (HTTP 400). <see cref="Code"/> is stable
/// (<c>bad_request</c>, <c>unknown_field</c>, <c>missing_field</c>, <c>invalid_type</c>, <c>invalid_range</c>,
/// <c>invalid_value</c>, <c>unknown_op</c>, <c>unknown_groupby</c>, <c>unknown_resample</c>, <c>unknown_format</c>,
/// <c>unknown_dimension</c>, <c>limit_exceeded</c>; a selection matching nothing is not an error but a size-0 dim); <see cref="Field"/> is the JSON path,
/// e.g. <c>select.lat</c>, or null.
/// </summary>
public sealed class QueryValidationException : Exception
{
    public QueryValidationException(string code, string message, string? field)
        : base(message)
    {
        Code = code;
        Field = field;
    }

    public QueryValidationException()
        : this("bad_request", "bad request", null)
    {
    }

    public QueryValidationException(string message)
        : this("bad_request", message, null)
    {
    }

    public QueryValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "bad_request";
    }

    public string Code { get; }

    public string? Field { get; }
}
