using XlmEdge.Kernels;

namespace XlmEdge.Tests.Kernels;

public class WorkerPoolTests
{
    private struct CountJob : IParallelJob
    {
        public int[] Hits;
        public int[] Workers;

        public readonly void Execute(int index, int worker)
        {
            Interlocked.Increment(ref Hits[index]);
            Workers[index] = worker;
        }
    }

    private struct ThrowJob : IParallelJob
    {
        public readonly void Execute(int index, int worker)
        {
            if (index == 7)
                throw new InvalidDataException("item 7");
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 50)]
    [InlineData(2, 1)]
    [InlineData(2, 1000)]
    [InlineData(4, 333)]
    public void RunsEveryItemExactlyOnce(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 20; round++)
        {
            var job = new CountJob { Hits = new int[count], Workers = new int[count] };
            pool.For(count, ref job);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
            Assert.All(job.Workers, w => Assert.InRange(w, 0, threads - 1));
        }
    }

    /// <summary>
    /// Back-to-back small calls with varying counts on pools with more threads than cores, while a busy
    /// thread competes for them: a worker of one call, preempted between reading the pool's state and
    /// claiming an item, must never claim an item of the next call (it once did: it ran an item twice or
    /// ran extra items, and the caller waited forever for a completion count it had passed). A watchdog
    /// turns a hang (no call returning for 10 s) into a failure.
    /// </summary>
    [Fact]
    public void BackToBackCallsUnderCompetitionNeverHangOrRunExtraItems()
    {
        const int MaxCount = 9;
        var duration = TimeSpan.FromSeconds(1.5); // per pool size
        var stall = TimeSpan.FromSeconds(10);
        using var stop = new CancellationTokenSource();
        var competitor = new Thread(() => { while (!stop.IsCancellationRequested) Thread.SpinWait(64); }) { IsBackground = true };
        competitor.Start();
        string? failure = null;
        int calls = 0;
        var caller = new Thread(() =>
        {
            var random = new Random(10);
            var hits = new int[MaxCount];
            var workers = new int[MaxCount];
            // Far more threads than the 2 cores CI has: workers are preempted anywhere, often late.
            foreach (int threads in (ReadOnlySpan<int>)[8, 16])
            {
                using var pool = new WorkerPool(threads);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed < duration && failure is null)
                {
                    int count = random.Next(1, MaxCount + 1);
                    Array.Clear(hits);
                    var job = new CountJob { Hits = hits, Workers = workers };
                    pool.For(count, ref job);
                    for (int i = 0; i < MaxCount; i++)
                        if (hits[i] != (i < count ? 1 : 0))
                            failure = $"{threads} threads, call {calls} (count {count}): item {i} ran {hits[i]} times";
                    Volatile.Write(ref calls, calls + 1);
                }
            }
        }) { IsBackground = true };
        caller.Start();
        int seen = -1;
        while (!caller.Join(stall) && Volatile.Read(ref calls) != seen)
            seen = Volatile.Read(ref calls);
        bool finished = !caller.IsAlive;
        stop.Cancel();
        competitor.Join();
        Assert.True(finished, $"WorkerPool.For hung: no call returned for {stall.TotalSeconds} s after {seen} calls");
        Assert.Null(failure);
    }

    /// <summary>Records, per worker, the items it ran in the order it ran them; a background worker waits on a gate at one item.</summary>
    private struct OrderJob : IParallelJob
    {
        public List<int>[] Order;
        public int StallItem;
        public ManualResetEventSlim? Stall;

        public readonly void Execute(int index, int worker)
        {
            if (index == StallItem && worker != 0)
                Stall?.Wait(TimeSpan.FromSeconds(5));
            else
                Thread.SpinWait(200); // long enough for the threads to overlap
            lock (Order[worker])
                Order[worker].Add(index);
        }
    }

    /// <summary>
    /// Each thread runs its own contiguous range of the call's items in ascending order (so a panel Linear's
    /// worker reads consecutive panels, one stream of weights) and then what it takes over from the others,
    /// from the back of their ranges, in descending order.
    /// </summary>
    [Theory]
    [InlineData(2, 1000)]
    [InlineData(3, 257)]
    [InlineData(4, 3)]
    public void EachThreadRunsItsRangeInOrderThenTakesOverFromTheBack(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 10; round++)
        {
            var job = new OrderJob { Order = Enumerable.Range(0, threads).Select(_ => new List<int>()).ToArray(), StallItem = -1 };
            pool.For(count, ref job);
            Assert.Equal(Enumerable.Range(0, count), job.Order.SelectMany(o => o).Order());
            for (int w = 0; w < threads; w++)
            {
                int start = count * w / threads, end = count * (w + 1) / threads;
                var own = job.Order[w].TakeWhile(i => i >= start && i < end).ToList();
                var taken = job.Order[w].Skip(own.Count).ToList();
                Assert.Equal(Enumerable.Range(start, own.Count), own);
                Assert.All(taken, i => Assert.False(i >= start && i < end, $"worker {w} ran item {i} of its own range after taking over others'"));
                var fromOneRange = taken.GroupBy(i => Enumerable.Range(0, threads).Single(v => i >= count * v / threads && i < count * (v + 1) / threads));
                Assert.All(fromOneRange, g => Assert.Equal(g.OrderDescending(), g));
            }
        }
    }

    /// <summary>
    /// A worker that stalls on an item (descheduled, in a shared machine) holds up only that item: the caller
    /// takes over the rest of the worker's range, so the call ends once the stalled item does.
    /// </summary>
    [Fact]
    public void AStalledWorkersRangeIsTakenOverByTheCaller()
    {
        using var pool = new WorkerPool(2);
        using var gate = new ManualResetEventSlim(false);
        const int Count = 200;
        // Item 100 opens worker 1's range; if the worker claims it, it waits on the gate.
        var job = new OrderJob { Order = [[], []], StallItem = Count / 2, Stall = gate };
        var release = new Thread(() =>
        {
            Thread.Sleep(500);
            gate.Set();
        });
        release.Start();
        pool.For(Count, ref job);
        release.Join();
        Assert.Equal(Enumerable.Range(0, Count), job.Order.SelectMany(o => o).Order());
        // The caller ran everything but what the worker claimed: at most the stalled item, plus one item the
        // worker may have finished before the caller had its own range done.
        Assert.True(job.Order[0].Count >= Count - 2, $"the caller ran {job.Order[0].Count} of {Count} items; the worker {string.Join(",", job.Order[1])}");
    }

    [Fact]
    public void ExceptionInAnItemReachesTheCaller()
    {
        using var pool = new WorkerPool(2);
        var job = new ThrowJob();
        var error = Assert.Throws<InvalidDataException>(() => pool.For(100, ref job));
        Assert.Equal("item 7", error.Message);
        var next = new CountJob { Hits = new int[10], Workers = new int[10] };
        pool.For(10, ref next);
        Assert.All(next.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void WakesUpAfterWorkersBlocked()
    {
        using var pool = new WorkerPool(2);
        Thread.Sleep(300); // long past the spin phase: the worker is blocked on the semaphore
        var job = new CountJob { Hits = new int[64], Workers = new int[64] };
        pool.For(64, ref job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void DisposedPoolRefusesWork()
    {
        var pool = new WorkerPool(3);
        pool.Dispose();
        pool.Dispose();
        var job = new CountJob { Hits = new int[4], Workers = new int[4] };
        Assert.Throws<ObjectDisposedException>(() => pool.For(4, ref job));
    }

    [Fact]
    public void KernelsDoNotAllocateAfterWarmUp()
    {
        using var pool = new WorkerPool(2);
        var random = new Random(3);
        const int T = 20, K = 64, N = 48, heads = 4;
        var x = KernelData.Floats(random, T * K);
        var w = KernelData.Halves(random, N * K);
        var bias = KernelData.Floats(random, N);
        var y = new float[T * N];
        var gamma = KernelData.Floats(random, K);
        var attention = new float[T * K];
        var indices = new int[5];

        void RunAll()
        {
            Linear.Forward(pool, x, T, K, w, N, bias, y, Activation.Gelu);
            Linear.Forward(pool, x, 1, K, w, N, bias, y);
            LayerNorm.AddNormalize(x, attention, T, K, gamma, gamma, 1e-12f);
            Attention.SelfAttention(pool, x, x, x, T, heads, K / heads, attention);
            Softmax.InPlace(y);
            TopK.Select(y, indices);
        }

        RunAll();
        var windows = AllocationWindows.Measure(RunAll, callsPerWindow: 10);
        Assert.True(windows[^1] == 0, $"bytes allocated in each window of 10 calls: {string.Join(", ", windows)}");
    }
}
