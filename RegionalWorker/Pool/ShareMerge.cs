using Proxima.Compute.Execution;
using Proxima.Protocol.Grpc;
using Proxima.Shared;
using Wire = Proxima.Protocol.V1;

namespace Proxima.RegionalWorker.Pool;

/// <summary>
/// The coordinator's in-region merge of a unit's share partials, as they arrive: decoded and merged exactly
/// with the router's own code (<see cref="PartialResultMapping"/>, <see cref="PartialMerge"/>), each share
/// once, every share cut from the same chunk list; the result is one partial for the whole unit whose stats
/// are the shares' sums. A share without a chunk answers without data: counted, not merged.
/// </summary>
internal sealed class ShareMerge(Wire.WorkUnit unit, int count)
{
    private readonly Lock _gate = new();
    private readonly bool[] _merged = new bool[count];
    private PartialResult? _result;
    private long _chunksTotal = -1;
    private long _chunks;
    private long _bytesRead;
    private long _bytesDecoded;

    /// <exception cref="WorkUnitException">The share was merged already, was cut from another chunk list than the others, or does not merge.</exception>
    public void Add(int k, Wire.PartialResult share)
    {
        var stats = share.Stats ?? new Wire.UnitStats();
        var decoded = share.Moments is null && share.Values is null ? null : PartialResultMapping.FromWire(share);
        lock (_gate)
        {
            if (_merged[k])
            {
                throw new WorkUnitException(StatusCode.Internal, $"unit {unit.UnitId}: share {k} reached the coordinator's merge twice");
            }

            if (_chunksTotal >= 0 && _chunksTotal != stats.ChunksTotal)
            {
                throw new WorkUnitException(StatusCode.FailedPrecondition,
                    $"unit {unit.UnitId}: share {k} was cut from {stats.ChunksTotal} chunks, another share from {_chunksTotal} (do the pool's workers see the same dataset?)");
            }

            _chunksTotal = stats.ChunksTotal;
            if (decoded is not null)
            {
                try
                {
                    _result = _result is null ? decoded : PartialMerge.Merge(_result, decoded);
                }
                catch (ArgumentException ex)
                {
                    throw new WorkUnitException(StatusCode.Internal, $"unit {unit.UnitId}: the partial of share {k} does not merge ({ex.Message})");
                }
            }

            _merged[k] = true;
            _chunks += stats.Chunks;
            _bytesRead += stats.BytesRead;
            _bytesDecoded += stats.BytesDecoded;
        }
    }

    /// <summary>The unit's one partial: every share merged, covering all chunks of the plan.</summary>
    public Wire.PartialResult Result()
    {
        lock (_gate)
        {
            for (var k = 0; k < _merged.Length; k++)
            {
                if (!_merged[k])
                {
                    throw new WorkUnitException(StatusCode.Internal, $"unit {unit.UnitId}: share {k} of {count} was never merged");
                }
            }

            if (_result is null || _chunks != _chunksTotal)
            {
                throw new WorkUnitException(StatusCode.Internal, $"unit {unit.UnitId}: the shares covered {_chunks} of {_chunksTotal} chunks{(_result is null ? ", none with data" : "")}");
            }

            var wire = PartialResultMapping.ToWire(_result, unit.UnitId);
            wire.Stats = new Wire.UnitStats { Chunks = _chunks, ChunksTotal = _chunksTotal, BytesRead = _bytesRead, BytesDecoded = _bytesDecoded };
            return wire;
        }
    }
}
