using System.Diagnostics;
using AspireKv.Hosting;

namespace AspireKv.Testing;

/// <summary>
/// What to start: a program, its arguments, folder and environment (a null value removes a
/// variable). With <see cref="OwnSession"/> the process gets a session of its own, so that a
/// Ctrl+C in the terminal reaches only the program that started it, which then stops it in order.
/// </summary>
public sealed record ProcessSpec(
    string Name,
    string FileName,
    IReadOnlyList<string> Arguments,
    string? WorkingDirectory = null,
    IReadOnlyDictionary<string, string?>? Environment = null,
    bool OwnSession = false);

/// <summary>One line a resource wrote, tagged with the resource's name.</summary>
public readonly record struct LogLine(DateTimeOffset Time, string Resource, bool IsError, string Text);

/// <summary>
/// A child process this program started and owns: its output is captured line by line, and it
/// can be stopped (SIGTERM, then SIGKILL after a grace period) or killed outright. Only this
/// process, by its PID, is ever signalled.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Action<LogLine>? _output;
    private readonly LogBuffer _recent = new(2000);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ManagedProcess(string name, Process process, Action<LogLine>? output)
    {
        Name = name;
        _process = process;
        _output = output;
    }

    public string Name { get; }

    public int Pid { get; private set; }

    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>Completes with the exit code when the process ends.</summary>
    public Task<int> Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The last lines the process wrote, oldest first.</summary>
    public IReadOnlyList<LogLine> RecentOutput => _recent.Snapshot();

    private const string SetSid = "/usr/bin/setsid";

    public static ManagedProcess Start(ProcessSpec spec, Action<LogLine>? output = null)
    {
        // setsid execs the program in place (a child is never a group leader), so the pid stays the program's.
        var ownSession = spec.OwnSession && File.Exists(SetSid);
        var info = new ProcessStartInfo(ownSession ? SetSid : spec.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        if (ownSession)
        {
            info.ArgumentList.Add(spec.FileName);
        }

        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in spec.Environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var managed = new ManagedProcess(spec.Name, process, output);
        process.OutputDataReceived += (_, e) => managed.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => managed.OnLine(e.Data, isError: true);
        process.Exited += (_, _) => managed._exited.TrySetResult(SafeExitCode(process));
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {spec.FileName} for {spec.Name}.");
        }

        managed.Pid = process.Id;
        managed.StartedAt = DateTimeOffset.UtcNow;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>Runs a short-lived program to its end and returns its exit code and output (standard output and error, in order).</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(ProcessSpec spec, TimeSpan timeout)
    {
        await using var process = Start(spec);
        var exitCode = await process.Exited.WaitAsync(timeout).ConfigureAwait(false);

        // The last lines of output can arrive after the exit: wait until both pipes have ended
        // (bounded, since a child that outlives the program could hold them open). A fixed 100 ms
        // here lost a whole --help text on a busy CI machine.
        await Task.WhenAny(Task.WhenAll(process._outputEnded.Task, process._errorEnded.Task), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        return (exitCode, string.Join('\n', process.RecentOutput.Select(l => l.Text)));
    }

    /// <summary>SIGTERM, then SIGKILL if the process has not ended within <paramref name="grace"/>. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!HasExited)
        {
            Signals.Send(Pid, Signals.SigTerm);
            Signals.Send(Pid, Signals.SigCont); // a paused process acts on SIGTERM only once it runs
            if (await Task.WhenAny(Exited, Task.Delay(grace)).ConfigureAwait(false) != Exited)
            {
                Kill();
            }
        }

        return await Exited.ConfigureAwait(false);
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal would.</summary>
    public void Interrupt()
    {
        if (!HasExited)
        {
            Signals.Send(Pid, Signals.SigInt);
        }
    }

    /// <summary>SIGKILL: the process ends at once, with no chance to clean up.</summary>
    public void Kill()
    {
        if (!HasExited)
        {
            Signals.Send(Pid, Signals.SigKill);
        }
    }

    /// <summary>SIGSTOP: the process is frozen where it is, its sockets open, until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        if (!HasExited)
        {
            Signals.Send(Pid, Signals.SigStop);
        }
    }

    /// <summary>SIGCONT: a paused process goes on.</summary>
    public void Resume()
    {
        if (!HasExited)
        {
            Signals.Send(Pid, Signals.SigCont);
        }
    }

    /// <summary>Writes text to the process's standard input.</summary>
    public async Task WriteToStandardInputAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Closes standard input, so that a process reading it sees its end.</summary>
    public Task CloseStandardInputAsync()
    {
        _process.StandardInput.Close();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process.Dispose();
    }

    private void OnLine(string? text, bool isError)
    {
        if (text is null)
        {
            (isError ? _errorEnded : _outputEnded).TrySetResult();
            return;
        }

        var line = new LogLine(DateTimeOffset.UtcNow, Name, isError, text);
        _recent.Add(line);
        _output?.Invoke(line);
    }

    private static int SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }
}

/// <summary>A bounded buffer of the most recent log lines, each numbered so a reader can ask for what is new.</summary>
public sealed class LogBuffer(int capacity)
{
    private readonly Queue<(long Sequence, LogLine Line)> _lines = new();
    private long _sequence;

    public void Add(LogLine line)
    {
        lock (_lines)
        {
            _lines.Enqueue((++_sequence, line));
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public IReadOnlyList<LogLine> Snapshot()
    {
        lock (_lines)
        {
            return [.. _lines.Select(l => l.Line)];
        }
    }

    /// <summary>The lines numbered after <paramref name="sequence"/>, with their numbers.</summary>
    public IReadOnlyList<(long Sequence, LogLine Line)> After(long sequence)
    {
        lock (_lines)
        {
            return [.. _lines.Where(l => l.Sequence > sequence)];
        }
    }
}
