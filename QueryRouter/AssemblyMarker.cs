namespace Proxima.QueryRouter;

internal static class AssemblyMarker
{
}
