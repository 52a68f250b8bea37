using XlmEdge.Weights;

namespace XlmEdge.Tests.Model;

public class MemoryLockTests
{
    [Fact]
    public void ALockedModelHoldsItsFileInLockedMemoryAndAnswersAsAnUnlockedOne()
    {
        long lockedBefore = LockedKilobytes();
        XlmModel locked;
        try
        {
            locked = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Threads = 1, LockInMemory = true });
        }
        catch (MemoryLockException e)
        {
            // A process that may not lock the file's size (an unprivileged one with a small RLIMIT_MEMLOCK)
            // gets the typed error naming the limit, and nothing else.
            Assert.Contains("RLIMIT_MEMLOCK", e.Message);
            Assert.Contains(TestModels.TinyEnfrPath, e.Message);
            return;
        }
        using (locked)
        {
            if (OperatingSystem.IsLinux())
                Assert.True(LockedKilobytes() - lockedBefore >= new FileInfo(TestModels.TinyEnfrPath).Length / 1024,
                    $"VmLck grew from {lockedBefore} to {LockedKilobytes()} kB for a {new FileInfo(TestModels.TinyEnfrPath).Length} B file");
            using var unlocked = XlmModel.Load(TestModels.TinyEnfrPath, new XlmModelOptions { Threads = 1 });
            var input = new FillMaskInput("the <special1> is here .", "en");
            var expected = unlocked.FillMask([input], 5)[0].Masks[0].Candidates;
            var actual = locked.FillMask([input], 5)[0].Masks[0].Candidates;
            Assert.Equal(expected.Select(c => (c.Token, c.Logit)), actual.Select(c => (c.Token, c.Logit)));
        }
        if (OperatingSystem.IsLinux())
            Assert.Equal(lockedBefore, LockedKilobytes());
    }

    [Theory]
    [InlineData(12, "ulimit -l")]
    [InlineData(1, "CAP_IPC_LOCK")]
    [InlineData(11, "EAGAIN")]
    [InlineData(99, "errno 99")]
    public void AFailedLockNamesWhatToDo(int errno, string text) => Assert.Contains(text, MemoryLock.Explain(errno));

    /// <summary>VmLck of this process (Linux), kB; 0 elsewhere.</summary>
    private static long LockedKilobytes()
    {
        if (!OperatingSystem.IsLinux())
            return 0;
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmLck:", StringComparison.Ordinal));
        return long.Parse(line["VmLck:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
