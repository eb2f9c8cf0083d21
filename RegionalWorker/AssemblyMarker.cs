namespace Proxima.RegionalWorker;

internal static class AssemblyMarker
{
}
