using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Planning;

namespace Proxima.QueryRouter;

/// <summary>Merges each dataset's partials, finalises the requested ops and encodes the answer.</summary>
internal static class ResultAssembly
{
    public static (byte[] Body, string ContentType) Encode(QueryPlan plan, DispatchOutcome outcome)
    {
        _ = plan;
        _ = outcome;
        throw new NotSupportedException("merging arrives with Compute");
    }
}
