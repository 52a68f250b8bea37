using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace XlmEdge.Kernels;

/// <summary>One parallel-for body.</summary>
internal interface IParallelJob
{
    /// <summary>Runs item <paramref name="index"/> on worker <paramref name="worker"/> (0 = the calling thread).</summary>
    void Execute(int index, int worker);
}

/// <summary>
/// Persistent worker threads (Threads - 1 background workers plus the calling thread) reused for every
/// kernel call. <see cref="For{TJob}"/> hands the workers a pointer to the caller's job struct and a
/// function pointer to the job's generic runner, so a call allocates nothing.
/// </summary>
/// <remarks>
/// Items are claimed one at a time with a compare-and-swap on one 64-bit word holding (call
/// generation, item count, next item), and the caller returns once every item is complete. The count
/// lives in that word, not in a field beside it, so a claim is checked against the count of the call
/// it claims from: a worker of the previous call, preempted between reading the word and claiming,
/// either claims an item of the call now published (and runs it with that call's job, which the
/// caller's atomic publish made visible before the word) or fails its compare-and-swap. With the count
/// in a separate field written before the new word, such a worker once matched the new count against
/// the old word, ran items twice or beyond the count, and left the caller waiting forever
/// (WorkerPoolTests.BackToBackCallsUnderCompetitionNeverHangOrRunExtraItems). A worker that wakes
/// late (descheduled, or still blocked) finds nothing left to claim and never delays the call: on a
/// machine shared with other processes a call costs what its items cost, not a time slice.
/// Workers spin for a short while after each call before blocking on a semaphore: the forward pass
/// issues kernel calls back to back, and an OS wake-up per call would cost more than small kernels.
/// One caller at a time: the pool and its scratch buffers are not for concurrent use (a second
/// concurrent caller gets an <see cref="InvalidOperationException"/>); jobs must not call back into the pool.
/// </remarks>
internal sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins before blocking: covers the gaps between the kernel
    /// calls of one forward pass, short enough not to burn a core other processes need.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>
    /// Floats in a cache line. Each worker's scratch keeps at least a line unused on each side: workers'
    /// arrays are allocated back to back, and without the guard the end of one and the start of the next
    /// share a line that both write on every kernel call (false sharing: 20% of a T = 8 Linear on two cores).
    /// </summary>
    private const int LineFloats = 16;

    /// <summary>Bits of the state word for the next item and for the item count (the generation has the rest).</summary>
    private const int IndexBits = 20;

    /// <summary>Most items one call takes (2^20 - 1; kernels issue at most a few thousand).</summary>
    public const int MaxItems = (1 << IndexBits) - 1;

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly AlignedBuffer[] _scratch;

    private delegate*<void*, int, int, void> _run;
    private void* _job;
    private long _state;
    private int _completed;
    private int _sleepers;
    private int _busy;
    private volatile bool _disposed;
    private Exception? _error;
    private AlignedBuffer _shared = new(0);

    /// <summary>Starts <paramref name="threads"/> - 1 background workers.</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, 1024);
        Threads = threads;
        _scratch = new AlignedBuffer[threads];
        for (int i = 0; i < threads; i++)
            _scratch[i] = new AlignedBuffer(0);
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int worker = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"XlmEdge worker {worker}" };
            _workers[i].Start();
        }
    }

    /// <summary>Number of threads that run items, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>Runs <c>job.Execute(i, worker)</c> for i in [0, count) across the pool and returns when all are done.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is over <see cref="MaxItems"/>.</exception>
    public void For<TJob>(int count, ref TJob job) where TJob : struct, IParallelJob
#if NET9_0_OR_GREATER
        , allows ref struct
#endif
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxItems);
        if (count <= 0)
            return;
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("WorkerPool is already running a job: it takes one caller at a time and jobs must not call back into it.");
        try
        {
            if (_workers.Length == 0 || count == 1)
            {
                for (int i = 0; i < count; i++)
                    job.Execute(i, 0);
                return;
            }
            // Plain writes, then one full-fence exchange publishes them (on ARM64 as on x64): a worker
            // reads _run and _job only after a successful claim on the new word.
            _run = &Runner<TJob>.Run;
            _job = Unsafe.AsPointer(ref job);
            _completed = 0;
            _error = null;
            int generation = Generation(Volatile.Read(ref _state)) + 1;
            Interlocked.Exchange(ref _state, State(generation, count));
            int sleepers = Volatile.Read(ref _sleepers);
            if (sleepers > 0)
                _wake.Release(sleepers);

            RunItems(generation, 0);

            var spinner = new SpinWait();
            while (Volatile.Read(ref _completed) != count)
                spinner.SpinOnce(sleep1Threshold: -1);
            _job = null;
            if (_error is { } error)
                ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Per-worker scratch of at least <paramref name="length"/> floats; grow it from the caller with <see cref="EnsureScratch"/> first.</summary>
    public Span<float> Scratch(int worker, int length) => _scratch[worker].Span(length);

    /// <summary>Grows every worker's scratch to <paramref name="length"/> floats (allocates only when growing).</summary>
    public void EnsureScratch(int length)
    {
        for (int i = 0; i < _scratch.Length; i++)
            if (_scratch[i].Length < length)
                _scratch[i] = new AlignedBuffer(length);
    }

    /// <summary>A caller-side buffer of at least <paramref name="length"/> floats shared by all workers during one call.</summary>
    public Span<float> Shared(int length)
    {
        if (_shared.Length < length)
            _shared = new AlignedBuffer(length);
        return _shared.Span(length);
    }

    /// <summary>
    /// A pinned array whose usable part starts on a cache line, with at least a line unused on each side.
    /// Kernels load and store 32- and 64-byte vectors in these buffers: aligned, none of them straddles two
    /// lines (an array from the GC heap starts wherever its header ends, 8-byte aligned).
    /// </summary>
    private readonly struct AlignedBuffer
    {
        private readonly float[] _array;
        private readonly int _start;

        public AlignedBuffer(int length)
        {
            _array = GC.AllocateUninitializedArray<float>(length + 3 * LineFloats, pinned: true);
            int misaligned = (int)(((nint)Unsafe.AsPointer(ref _array[0]) & (LineFloats * sizeof(float) - 1)) / sizeof(float));
            _start = LineFloats + (LineFloats - misaligned) % LineFloats;
            Length = length;
        }

        public int Length { get; }

        public Span<float> Span(int length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
            return _array.AsSpan(_start, length);
        }
    }

    /// <summary>Stops the workers.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Interlocked.Exchange(ref _state, State(Generation(Volatile.Read(ref _state)) + 1, 0));
        if (_workers.Length > 0)
            _wake.Release(_workers.Length);
        foreach (var worker in _workers)
            worker.Join();
        _wake.Dispose();
    }

    /// <summary>Claims and runs items of call <paramref name="generation"/> until none are left.</summary>
    private void RunItems(int generation, int worker)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            int index = (int)(state & MaxItems);
            // A claim succeeds only on the current word with an item left, so the fields read after it
            // belong to the call that word published and stay valid until the item is marked complete.
            if (Generation(state) != generation || index >= (int)((state >> IndexBits) & MaxItems))
                return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state)
                continue;
            try
            {
                _run(_job, index, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            Interlocked.Increment(ref _completed);
        }
    }

    private void WorkerLoop(int worker)
    {
        int seen = 0;
        while (true)
        {
            int generation = Generation(Volatile.Read(ref _state));
            long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (generation == seen && System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(4);
                generation = Generation(Volatile.Read(ref _state));
            }
            if (generation == seen)
            {
                Interlocked.Increment(ref _sleepers);
                while ((generation = Generation(Volatile.Read(ref _state))) == seen)
                    _wake.Wait();
                Interlocked.Decrement(ref _sleepers);
            }
            seen = generation;
            if (_disposed)
                return;
            RunItems(generation, worker);
        }
    }

    /// <summary>The state word of call <paramref name="generation"/> with <paramref name="count"/> items, none claimed:
    /// generation in the top 24 bits (it wraps; it only tells workers that a new call came), then the count, then the next item.</summary>
    private static long State(int generation, int count) =>
        ((long)(generation & 0xFFFFFF) << (2 * IndexBits)) | ((long)count << IndexBits);

    private static int Generation(long state) => (int)((ulong)state >> (2 * IndexBits));

    private static class Runner<TJob> where TJob : struct, IParallelJob
#if NET9_0_OR_GREATER
        , allows ref struct
#endif
    {
        public static void Run(void* job, int index, int worker) => Unsafe.AsRef<TJob>(job).Execute(index, worker);
    }
}
