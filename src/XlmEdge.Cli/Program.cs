namespace XlmEdge.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("error: not implemented yet");
        return 2;
    }
}
