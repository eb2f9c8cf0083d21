using Proxima.Compute.Kernels;
using Proxima.Compute.Planning;

namespace Proxima.Compute.Execution;

/// <summary>
/// The output box of one execution (the bounding box, per output dim, of the cells its chunk range touches) and
/// its accumulators.
/// </summary>
internal sealed class ExecutionState
{
    private readonly int[] _chunkStrides;
    private readonly bool _orderedAsSource;

    public ExecutionState(QueryPlan plan, ChunkRange range)
    {
        Plan = plan;
        var dims = plan.LogicalDims;
        var nl = dims.Length;
        var src = plan.Source;
        ChunkLength = 1;
        _chunkStrides = new int[src.Dims.Count];
        for (var d = src.Dims.Count - 1; d >= 0; d--)
        {
            _chunkStrides[d] = ChunkLength;
            ChunkLength *= src.ChunkShape[d];
        }

        _orderedAsSource = nl == src.Dims.Count;
        for (var j = 0; j < nl && _orderedAsSource; j++)
        {
            _orderedAsSource = dims[j].SourceDims.Length == 1 && dims[j].SourceDims[0] == j;
        }

        // Bounding box over touched groups.
        BoxStart = new int[nl];
        BoxExtent = new int[nl];
        var lo = new int[nl];
        var hi = new int[nl];
        Array.Fill(lo, int.MaxValue);
        Array.Fill(hi, -1);
        var touched = new bool[nl][];
        for (var j = 0; j < nl; j++)
        {
            touched[j] = new bool[dims[j].Groups.Length];
        }

        var gi = new int[nl];
        for (var o = range.Start; o < range.End; o++)
        {
            plan.GroupsOf(o, gi);
            for (var j = 0; j < nl; j++)
            {
                touched[j][gi[j]] = true;
            }
        }

        for (var j = 0; j < nl; j++)
        {
            if (dims[j].Role == DimRole.Reduced)
            {
                BoxExtent[j] = 1;
                continue;
            }

            for (var g = 0; g < touched[j].Length; g++)
            {
                if (!touched[j][g])
                {
                    continue;
                }

                foreach (var p in dims[j].Groups[g].Positions)
                {
                    var op = dims[j].OutPos[p];
                    lo[j] = Math.Min(lo[j], op);
                    hi[j] = Math.Max(hi[j], op);
                }
            }

            if (plan.ChunkCount == 0)
            {
                // An empty selection (xarray: a size-0 dim): the answer is the whole output box, reduced over
                // nothing (count 0, sum 0, NaN otherwise) or of size 0 along the empty dim.
                BoxStart[j] = 0;
                BoxExtent[j] = dims[j].OutCoord.Length;
                continue;
            }

            BoxStart[j] = hi[j] < 0 ? 0 : lo[j];
            BoxExtent[j] = hi[j] < 0 ? 0 : hi[j] - lo[j] + 1;
        }

        GlobalStrides = new long[nl];
        long stride = 1;
        for (var j = nl - 1; j >= 0; j--)
        {
            if (dims[j].Role == DimRole.Reduced)
            {
                continue;
            }

            GlobalStrides[j] = stride;
            stride *= BoxExtent[j];
        }

        if (stride > Array.MaxLength)
        {
            throw new Query.QueryValidationException("limit_exceeded", $"The result has {stride} cells, more than one response can hold; narrow 'select' or reduce.", "select");
        }

        CellCount = (int)stride;

        // At least 1024 cells a block, at most 4096 blocks.
        StripeShift = 10;
        while ((CellCount >> StripeShift) >= 4096)
        {
            StripeShift++;
        }

        Stripes = new Lock[(CellCount >> StripeShift) + 1];
        for (var b = 0; b < Stripes.Length; b++)
        {
            Stripes[b] = new Lock();
        }
        if (plan.IsReduce)
        {
            bool m2 = false, minMax = false;
            foreach (var op in plan.Spec.Reduce!.Ops)
            {
                m2 |= op is Query.ReduceOp.Std or Query.ReduceOp.Var;
                minMax |= op is Query.ReduceOp.Min or Query.ReduceOp.Max;
            }

            Moments = (m2, minMax) switch
            {
                (true, true) => MomentSets.All,
                (true, false) => MomentSets.NoMinMax,
                (false, true) => MomentSets.NoM2,
                _ => MomentSets.CountSum,
            };
            Shared = new Accumulators(CellCount);
            _freeLanes.Push(Shared);
        }
        else
        {
            Values = new double[CellCount];
            Array.Fill(Values, double.NaN);
        }
    }

    public QueryPlan Plan { get; }

    /// <summary>
    /// The moments the ops need on the column path (the others keep their empty values: M2 0, min +inf, max -inf;
    /// the span path always computes all five).
    /// </summary>
    public MomentSets Moments { get; }

    public int ChunkLength { get; }

    public int[] BoxStart { get; }

    public int[] BoxExtent { get; }

    /// <summary>Row-major stride of each logical dim in the output box (0 for reduced dims).</summary>
    public long[] GlobalStrides { get; }

    public int CellCount { get; }

    /// <summary>The accumulators the partial result reports (null without reduce).</summary>
    public Accumulators? Shared { get; }

    /// <summary>Counts in float64 (exact below 2^53) so the kernels merge them in vector lanes; long on the wire.</summary>
    public double[]? Count => Shared?.Count;

    public double[]? Sum => Shared?.Sum;

    public double[]? M2 => Shared?.M2;

    public double[]? Min => Shared?.Min;

    public double[]? Max => Shared?.Max;

    /// <summary>
    /// True when each chunk in flight merges into accumulators of its own (a lane) without locks, the lanes merged
    /// into <see cref="Shared"/> at the end: with several chunks in flight and an output box no larger than one
    /// chunk's values (so memory stays within twice chunks in flight × chunk). Otherwise every chunk merges into
    /// <see cref="Shared"/> holding the stripe locks of its cells — which a thread preempted on a loaded machine
    /// holds while the other waits.
    /// </summary>
    public bool PrivateLanes => Shared is not null && ChunksInFlight > 1 && (long)CellCount * 5 * 8 <= (long)ChunkLength * 4;

    /// <summary>
    /// True when the column kernel may count spans of cells once (<see cref="Accumulators.TrySpan"/>): each lane is used
    /// by one chunk at a time (<see cref="PrivateLanes"/>) or only one chunk is in flight, so no other thread reads or
    /// writes its counts meanwhile (the shared lane of several chunks in flight is merged into under stripe locks, which
    /// span counts do not follow).
    /// </summary>
    public bool SpanCounts => Shared is not null && (PrivateLanes || ChunksInFlight == 1);

    /// <summary>Accumulators for one chunk: a free lane (or a new one) with <see cref="PrivateLanes"/>, else <see cref="Shared"/>.</summary>
    public Accumulators RentLane()
    {
        if (!PrivateLanes)
        {
            return Shared!;
        }

        lock (_lanesLock)
        {
            if (_freeLanes.TryPop(out var lane))
            {
                return lane;
            }
        }

        var created = new Accumulators(CellCount);
        lock (_lanesLock)
        {
            _extraLanes.Add(created);
        }

        return created;
    }

    /// <summary>Gives back what <see cref="RentLane"/> returned.</summary>
    public void ReturnLane(Accumulators lane)
    {
        if (PrivateLanes)
        {
            lock (_lanesLock)
            {
                _freeLanes.Push(lane);
            }
        }
    }

    private readonly Stack<Accumulators> _freeLanes = new();
    private readonly List<Accumulators> _extraLanes = [];
    private readonly Lock _lanesLock = new();

    public double[]? Values { get; }

    /// <summary>
    /// Locks over blocks of <c>1 &lt;&lt; StripeShift</c> consecutive output cells: a chunk merges into a cell range
    /// holding the locks of the blocks it covers, so chunks that touch different cells merge in parallel.
    /// </summary>
    public Lock[] Stripes { get; }

    public int StripeShift { get; }

    /// <summary>Takes the locks of the blocks covering cells [start, start + length), in block order.</summary>
    public void EnterCells(long start, int length)
    {
        for (var b = start >> StripeShift; b <= (start + length - 1) >> StripeShift; b++)
        {
            Stripes[b].Enter();
        }
    }

    /// <summary>Releases what <see cref="EnterCells"/> took.</summary>
    public void ExitCells(long start, int length)
    {
        for (var b = (start + length - 1) >> StripeShift; b >= start >> StripeShift; b--)
        {
            Stripes[b].Exit();
        }
    }

    /// <summary>Takes every stripe (a merge that walks the whole box).</summary>
    public void EnterAll()
    {
        foreach (var l in Stripes)
        {
            l.Enter();
        }
    }

    public void ExitAll()
    {
        for (var b = Stripes.Length - 1; b >= 0; b--)
        {
            Stripes[b].Exit();
        }
    }

    /// <summary>Chunk and box buffers, at most one of each per chunk in flight.</summary>
    public BufferSet Buffers { get; } = new();

    /// <summary>Decoded bytes a chunk is reduced in, or 0 (see <see cref="ExecutionOptions.PieceBytes"/>).</summary>
    public int PieceBytes { get; init; }

    /// <summary>Chunks processed at once (<see cref="ExecutionOptions.MaxChunksInFlight"/>).</summary>
    public int ChunksInFlight { get; init; } = 1;

    /// <summary>
    /// True when whole chunks may be reduced a piece of leading rows at a time: a float32 reduction in storage dim
    /// order whose leading dim is reduced or grouped and whose innermost dim is kept (the column kernel's rows are
    /// then whole leading rows).
    /// </summary>
    public bool CanReduceInPieces =>
        Plan.IsReduce && !Plan.Source.IsDouble && _orderedAsSource && Plan.LogicalDims.Length >= 2
        && Plan.LogicalDims[0].Role != DimRole.Kept && Plan.LogicalDims[^1].Role == DimRole.Kept;

    /// <summary>Per-phase times, when a benchmark asked for them.</summary>
    public ExecutionTimings? Timings { get; init; }

    /// <summary>True when a group covers its whole chunk along the dim in storage order (no gather needed).</summary>
    public bool IsWholeChunk(int j, ChunkGroup g)
    {
        if (!_orderedAsSource)
        {
            return false;
        }

        var d = Plan.LogicalDims[j].SourceDims[0];
        var len = Plan.Source.ChunkShape[d];
        if (g.SrcOffsets.Length != len)
        {
            return false;
        }

        var s = _chunkStrides[d];
        for (var i = 0; i < len; i++)
        {
            if (g.SrcOffsets[i] != i * s)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Output position (relative to the box) of each entry of a group; empty for reduced dims.</summary>
    public int[] OutPositions(int j, ChunkGroup g)
    {
        var d = Plan.LogicalDims[j];
        if (d.Role == DimRole.Reduced)
        {
            return [];
        }

        var r = new int[g.Positions.Length];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = d.OutPos[g.Positions[i]] - BoxStart[j];
        }

        return r;
    }

    public PartialResult ToPartial(int chunksDone, long bytesRead)
    {
        foreach (var lane in _extraLanes)
        {
            Shared!.MergeFrom(lane, Moments, ChunksInFlight);
        }

        _extraLanes.Clear();
        var plan = Plan;
        var dims = new List<string>();
        var shape = new List<int>();
        var coords = new List<ResultCoordinate>();
        ResultCoordinate[] pointCoords = [];
        for (var j = 0; j < plan.LogicalDims.Length; j++)
        {
            var d = plan.LogicalDims[j];
            if (d.Role == DimRole.Reduced)
            {
                continue;
            }

            dims.Add(d.OutCoord.Name);
            shape.Add(BoxExtent[j]);
            coords.Add(Slice(d.OutCoord, BoxStart[j], BoxExtent[j]));
            if (d.Name == "point" && d.SourceDims.Length == 2)
            {
                pointCoords = [Slice(plan.PointCoords[0], BoxStart[j], BoxExtent[j]), Slice(plan.PointCoords[1], BoxStart[j], BoxExtent[j])];
            }
        }

        var attrs = new Dictionary<string, string>(plan.Source.Attributes);
        foreach (var d in plan.LogicalDims)
        {
            if (d.Times is not null)
            {
                attrs["calendar"] = CfCalendars.Name(plan.Calendar);
            }
        }

        return new PartialResult
        {
            Dataset = plan.Dataset,
            Variable = plan.Source.Variable,
            Kind = plan.IsReduce ? PartialKind.Moments : PartialKind.Values,
            Dims = [.. dims],
            Shape = [.. shape],
            Coords = [.. coords],
            PointCoords = pointCoords,
            Attrs = attrs,
            Grouping = plan.Grouping,
            Count = Count is null ? null : ToLong(Count),
            Sum = Sum,
            M2 = M2,
            Min = Min,
            Max = Max,
            Values = Values,
            ChunksDone = chunksDone,
            ChunksTotal = plan.ChunkCount,
            BytesRead = bytesRead,
        };
    }

    private static long[] ToLong(double[] a)
    {
        var r = new long[a.Length];
        for (var i = 0; i < a.Length; i++)
        {
            r[i] = (long)a[i];
        }

        return r;
    }

    private static ResultCoordinate Slice(ResultCoordinate c, int start, int len) => new()
    {
        Name = c.Name,
        Keys = c.Keys.AsSpan(start, len).ToArray(),
        Values = c.Values?.AsSpan(start, len).ToArray(),
        Labels = c.Labels?.AsSpan(start, len).ToArray(),
    };
}
