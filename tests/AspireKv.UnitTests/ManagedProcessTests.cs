using AspireKv.Testing;

namespace AspireKv.UnitTests;

/// <summary>The test-support process runner: what a process prints is all there once it has run to its exit.</summary>
public sealed class ManagedProcessTests
{
    [Fact]
    public async Task Output_written_after_the_process_exits_by_a_child_that_keeps_its_pipes_is_still_collected()
    {
        // The shell exits at once; its child holds the pipes and writes half a second later, as a
        // busy machine delays a process's last lines past its exit.
        var (exitCode, output) = await ManagedProcess.RunToExitAsync(
            new("late-writer", "/bin/sh", ["-c", "echo early; (sleep 0.5; echo late; echo late-error >&2) & exit 3"]), TimeSpan.FromSeconds(30));

        Assert.Equal(3, exitCode);
        Assert.Contains("early", output);
        Assert.Contains("late", output);
        Assert.Contains("late-error", output);
    }
}
