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
/// Each call splits its items into one contiguous range per thread. A thread claims the items of its own
/// range from the front, one at a time, and then the others' from the back (the range with the most
/// left first), so a worker that wakes late (descheduled, or still blocked) never delays the call: on a
/// machine shared with other processes a call costs what its items cost, not a time slice. Claiming in
/// order keeps each thread's reads contiguous: a panel Linear's items are consecutive panels of W, one
/// stream from DRAM that the prefetchers follow across panel boundaries, where a shared counter dealt
/// the threads every other panel. Two single-threaded Linear sweeps (`XlmEdge.Benchmarks kernels --threads 1`)
/// run at once had reached 349-389 GFLOP/s between them where the shared counter's two threads reached
/// 300-335. Encoder at enfr-1024, 2 threads, this build against the shared counter's, both loaded in one
/// process and called in turn, AMD EPYC Zen 5: 1.20x at T = 8, 1.15x at 16, 1.08x at 32, 1.07x at 64, 1.06x
/// at 128, 1.02x at 512; with the 256-bit path forced 1.06x at T = 8, 1.04x at 16, 1.02x at 32, 1.00x at 128 and 512.
/// Each range is one 64-bit word (call generation, next item, end) in a cache line of its own, claimed
/// with a compare-and-swap: a claim is checked against the generation of the call it claims from, so a
/// worker of the previous call, preempted between reading a word and claiming, fails its
/// compare-and-swap instead of running an item twice or beyond the count
/// (WorkerPoolTests.BackToBackCallsUnderCompetitionNeverHangOrRunExtraItems), and the caller returns
/// once every item is complete.
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

    /// <summary>Bits of a range word for its next item and for its end (the generation has the rest, as in the state word).</summary>
    private const int IndexBits = 20;

    /// <summary>Most items one call takes (2^20 - 1; kernels issue at most a few thousand).</summary>
    public const int MaxItems = (1 << IndexBits) - 1;

    /// <summary>Longs per range word: one cache line each, so no two threads' claims share a line.</summary>
    private const int LineLongs = 8;

    private readonly Thread[] _workers;
    private readonly long[] _ranges;
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
        _ranges = new long[threads * LineLongs];
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
            // reads the ranges after it has seen the new generation, and _run and _job only after a
            // successful claim on a word of that generation.
            _run = &Runner<TJob>.Run;
            _job = Unsafe.AsPointer(ref job);
            _completed = 0;
            _error = null;
            int generation = NextGeneration(Volatile.Read(ref _state));
            for (int w = 0; w < Threads; w++)
                _ranges[w * LineLongs] = Range(generation, (int)((long)count * w / Threads), (int)((long)count * (w + 1) / Threads));
            Interlocked.Exchange(ref _state, State(generation));
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
        Interlocked.Exchange(ref _state, State(NextGeneration(Volatile.Read(ref _state))));
        if (_workers.Length > 0)
            _wake.Release(_workers.Length);
        foreach (var worker in _workers)
            worker.Join();
        _wake.Dispose();
    }

    /// <summary>Claims and runs items of call <paramref name="generation"/> until none are left: this thread's range from the front, then the others' from the back.</summary>
    private void RunItems(int generation, int worker)
    {
        while (Claim(worker, generation, fromFront: true, out int index))
            Run(index, worker);
        while (true)
        {
            int victim = -1, most = 0;
            for (int v = 0; v < Threads; v++)
            {
                long word = Volatile.Read(ref _ranges[v * LineLongs]);
                int left = Generation(word) == generation ? End(word) - Next(word) : 0;
                if (v != worker && left > most)
                    (victim, most) = (v, left);
            }
            if (victim < 0)
                return;
            if (Claim(victim, generation, fromFront: false, out int index))
                Run(index, worker);
        }
    }

    /// <summary>
    /// Takes the first (or last) unclaimed item of <paramref name="owner"/>'s range of call <paramref name="generation"/>;
    /// false when that range is empty or belongs to another call. A claim succeeds only on a word of this call with an
    /// item left, so the fields read after it belong to this call and stay valid until the item is marked complete.
    /// </summary>
    private bool Claim(int owner, int generation, bool fromFront, out int index)
    {
        ref long slot = ref _ranges[owner * LineLongs];
        while (true)
        {
            long word = Volatile.Read(ref slot);
            int next = Next(word), end = End(word);
            if (Generation(word) != generation || next >= end)
            {
                index = -1;
                return false;
            }
            long claimed = fromFront ? word + (1L << IndexBits) : word - 1;
            if (Interlocked.CompareExchange(ref slot, claimed, word) == word)
            {
                index = fromFront ? next : end - 1;
                return true;
            }
        }
    }

    private void Run(int index, int worker)
    {
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

    /// <summary>
    /// The state word of call <paramref name="generation"/>: the generation in the top 24 bits (it wraps; it tells
    /// workers that a new call came). A range word adds the next item and the end below it, 20 bits each.
    /// </summary>
    private static long State(int generation) => (long)generation << (2 * IndexBits);

    private static long Range(int generation, int next, int end) => State(generation) | ((long)next << IndexBits) | (uint)end;

    /// <summary>The generation after the one in <paramref name="state"/>, wrapped to 24 bits so that it equals what <see cref="Generation"/> reads back.</summary>
    private static int NextGeneration(long state) => (Generation(state) + 1) & 0xFFFFFF;

    private static int Generation(long state) => (int)((ulong)state >> (2 * IndexBits));

    private static int Next(long range) => (int)((range >> IndexBits) & MaxItems);

    private static int End(long range) => (int)(range & MaxItems);

    private static class Runner<TJob> where TJob : struct, IParallelJob
#if NET9_0_OR_GREATER
        , allows ref struct
#endif
    {
        public static void Run(void* job, int index, int worker) => Unsafe.AsRef<TJob>(job).Execute(index, worker);
    }
}
