namespace Proxima.Arrays;

internal static class AssemblyMarker
{
}
