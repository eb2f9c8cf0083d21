namespace Proxima.Catalog;

internal static class AssemblyMarker
{
}
