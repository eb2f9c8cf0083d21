using Proxima.Arrays;
using Proxima.Arrays.Storage;

namespace Proxima.RegionalWorker;

/// <summary>
/// Opened datasets (metadata, consolidated headers) per (path, catalog fingerprint), so repeated
/// queries on a dataset skip re-reading its metadata; a new sync fingerprint opens it afresh.
/// </summary>
internal sealed class DatasetCache(IStorage storage, GridDatasetOptions options, int capacity = 64)
{
    private readonly Dictionary<(string Path, string Fingerprint), Task<GridDataset>> _entries = [];
    private readonly LinkedList<(string Path, string Fingerprint)> _order = new();

    public Task<GridDataset> OpenAsync(string path, string fingerprint, CancellationToken cancellationToken)
    {
        if (fingerprint.Length == 0)
        {
            return GridDataset.OpenAsync(storage, path, options, cancellationToken);
        }

        var key = (path, fingerprint);
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var cached) && !cached.IsFaulted && !cached.IsCanceled)
            {
                _order.Remove(key);
                _order.AddFirst(key);
                return cached;
            }

            // Opening is not tied to one caller's cancellation: other units may wait on the same task.
            var opening = GridDataset.OpenAsync(storage, path, options, CancellationToken.None);
            _entries[key] = opening;
            _order.Remove(key);
            _order.AddFirst(key);
            while (_order.Count > capacity)
            {
                _entries.Remove(_order.Last!.Value);
                _order.RemoveLast();
            }

            return opening.WaitAsync(cancellationToken);
        }
    }
}
