using System.Text;

namespace Proxima.Federation;

/// <summary>One problem in the federation file, located by a JSON path such as <c>workers[1].cidr</c>.</summary>
internal sealed record FederationError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The federation file is unusable; <see cref="Errors"/> lists every problem found, each naming its field.</summary>
internal sealed class FederationException : Exception
{
    public FederationException(string source, IReadOnlyList<FederationError> errors)
        : base(Format(source, errors))
    {
        Source = source;
        Errors = errors;
    }

    public new string Source { get; }

    public IReadOnlyList<FederationError> Errors { get; }

    private static string Format(string source, IReadOnlyList<FederationError> errors)
    {
        var text = new StringBuilder();
        text.Append("Invalid federation file ").Append(source).Append(": ")
            .Append(errors.Count).Append(errors.Count == 1 ? " error" : " errors");
        foreach (var error in errors)
        {
            text.Append('\n').Append("  ").Append(error.Path).Append(": ").Append(error.Message);
        }

        return text.ToString();
    }
}
