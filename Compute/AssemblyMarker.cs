namespace Proxima.Compute;

internal static class AssemblyMarker
{
}
