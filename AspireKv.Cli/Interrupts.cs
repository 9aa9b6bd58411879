using System.Runtime.InteropServices;

namespace AspireKv.Cli;

/// <summary>
/// Ctrl+C (and SIGTERM) for commands that run until the user stops them, such as <c>watch</c>
/// and <c>lease keepalive</c>: while a scope is open the signal cancels its token instead of
/// ending the process, so the command can finish its output and exit cleanly (and the REPL's
/// <c>WATCH</c> can return to the prompt). Outside a scope the signals act as usual.
/// </summary>
internal sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    private Interrupts(CancellationToken alsoStopOn)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(alsoStopOn);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    }

    /// <summary>Cancelled by Ctrl+C, SIGTERM or the token the scope was opened with.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Whether Ctrl+C or SIGTERM arrived (rather than the outer token being cancelled).</summary>
    public bool Interrupted { get; private set; }

    public static Interrupts Catch(CancellationToken alsoStopOn = default) => new(alsoStopOn);

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupted = true;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the scope closed while the signal arrived
        }
    }
}
