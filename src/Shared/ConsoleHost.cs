using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace XlmEdge.CommandLine;

/// <summary>
/// What both consoles (<c>xlmedge</c>, <c>xlmedge-weights</c>) share around System.CommandLine: the
/// exit codes, the one-line <c>error:</c> convention, <c>--version</c>, and the exit codes in every
/// command's <c>--help</c>. Compiled into each console (linked source), not a public API.
/// </summary>
internal static class ConsoleHost
{
    public const int Success = 0, BadInput = 1, UsageError = 2;

    private const string ExitCodes = """
        Exit codes:
          0  success
          1  bad input (a model file, a checkpoint or a text): one line on stderr starting with "error:"
          2  usage error (unknown command or option, a missing or malformed value)
        """;

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="commands"/> and runs the chosen command.
    /// Usage errors print <c>error: ...</c> and a hint to stderr and give 2; the exceptions that mean
    /// bad input (<see cref="IsBadInput"/>) print one <c>error: ...</c> line and give 1.
    /// </summary>
    public static int Run(string programName, string description, IEnumerable<Command> commands, string[] args,
        TextWriter stdout, TextWriter stderr)
    {
        // A plain Command rather than RootCommand, so the usage lines name the program as users type
        // it (xlmedge), not as the binary file is called (XlmEdge.Cli).
        var program = new Command(programName, description)
        {
            new HelpOption { Action = new HelpWithExitCodes(new HelpAction()) },
            new VersionOption { Action = new PrintVersion() },
        };
        foreach (var command in commands)
            program.Subcommands.Add(command);

        // Text starting with '@' is text, not a response file.
        var parsed = program.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        string? error = parsed.Errors.Count > 0 ? parsed.Errors[0].Message : UnknownOption(parsed);
        if (error is not null && parsed.Action is not HelpWithExitCodes and not PrintVersion)
        {
            stderr.WriteLine($"error: {OneLine(error)}");
            var command = parsed.CommandResult.Command;
            stderr.WriteLine($"see '{programName}{(command == program ? "" : " " + command.Name)} --help'");
            return UsageError;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return UsageError;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return BadInput;
        }
    }

    /// <summary>
    /// System.CommandLine takes an unknown <c>--option</c> as the text when a command has a text
    /// argument; a text that starts with '-' must come after <c>--</c>.
    /// </summary>
    private static string? UnknownOption(ParseResult parsed)
    {
        foreach (var token in parsed.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
                return null;
            if (token.Type == TokenType.Argument && token.Value.Length > 1 && token.Value[0] == '-')
                return $"unknown option '{token.Value}' (a text that starts with '-' goes after '--')";
        }
        return null;
    }

    /// <summary>The exceptions that report bad input rather than a bug.</summary>
    public static bool IsBadInput(Exception e) =>
        e is XlmEdgeException or IOException or UnauthorizedAccessException or ArgumentException;

    /// <summary>A message made to fit the one-line error convention.</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ");

    /// <summary>An option that must be a whole number of at least 1, with the error said plainly.</summary>
    public static Option<int> PositiveInt(string name, string alias, string helpName, string description, int? defaultValue)
    {
        var option = new Option<int>(name, alias)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0)
                    return n;
                result.AddError($"option '{name}' needs a whole number of at least 1, not '{text}'");
                return 0;
            },
        };
        if (defaultValue is int d)
            option.DefaultValueFactory = _ => d;
        return option;
    }

    private sealed class HelpWithExitCodes(HelpAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            help.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes);
            return Success;
        }
    }

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(XlmRuntime.Version);
            return Success;
        }
    }
}

/// <summary>A usage mistake found after parsing: exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
