namespace Proxima.Protocol;

internal static class AssemblyMarker
{
}
