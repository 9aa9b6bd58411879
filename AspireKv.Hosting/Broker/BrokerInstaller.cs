using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.Broker;

/// <summary>What the machine offers for installing rabbitmq-server.</summary>
/// <param name="Allowed">The <c>Broker:Install</c> setting (<c>--no-broker-install</c> turns it off).</param>
/// <param name="LooksAtPackagePath">The AppHost looks for the server where the package puts it, not at an <c>ASPIREKV_RABBITMQ_SERVER</c> of its own.</param>
/// <param name="HasAptGet">apt-get is on PATH.</param>
/// <param name="IsRoot">This process runs as root.</param>
/// <param name="HasPasswordlessSudo">sudo runs without asking for a password.</param>
public readonly record struct InstallFacts(bool Allowed, bool LooksAtPackagePath, bool HasAptGet, bool IsRoot, bool HasPasswordlessSudo);

/// <summary>Either install (with or without sudo), or refuse and say what the user can do instead.</summary>
public sealed record InstallPlan(bool Install, IReadOnlyList<string> Launcher, string Reason)
{
    public static InstallPlan Refuse(string reason) => new(false, [], reason);
}

/// <summary>
/// Gets RabbitMQ onto a machine that has none, the way an Aspire AppHost pulls a container image on
/// first use: from the system's package manager (apt, as root or through sudo without a password),
/// with the package's own service kept from starting, because the AppHost runs private instances.
/// The package manager, rather than a private download, because rabbitmq-server needs Erlang, whose
/// packages are not relocatable, and because the system then keeps both patched.
/// </summary>
public static class BrokerInstaller
{
    /// <summary>The setting that turns installing off: <c>Broker:Install=false</c>, or <c>--no-broker-install</c>.</summary>
    public const string Setting = "Broker:Install";

    /// <summary>The command a user runs to install the broker by hand.</summary>
    public const string ExactCommand = "sudo apt-get install -y rabbitmq-server";

    /// <summary>
    /// Installs rabbitmq-server without starting its system service: a policy-rc.d that denies
    /// starts while the package installs (unless one is there already), and, on systemd, the unit
    /// disabled afterwards.
    /// </summary>
    internal const string Script = """
        set -e
        export DEBIAN_FRONTEND=noninteractive
        policy=/usr/sbin/policy-rc.d
        made=0
        if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made=1; fi
        trap 'if [ "$made" = 1 ]; then rm -f "$policy"; fi' EXIT
        apt-get update
        apt-get install -y --no-install-recommends rabbitmq-server
        if [ -d /run/systemd/system ]; then systemctl disable --now rabbitmq-server || true; fi
        """;

    /// <summary>Decides from <paramref name="facts"/> alone, so that every branch can be tested.</summary>
    public static InstallPlan Decide(InstallFacts facts)
    {
        if (!facts.Allowed)
        {
            return InstallPlan.Refuse($"installing it is turned off ({Setting}=false)");
        }

        if (!facts.LooksAtPackagePath)
        {
            return InstallPlan.Refuse($"{RabbitMqServer.ServerScriptVariable} points at {RabbitMqServer.ServerScript}, which a package install would not create");
        }

        if (!facts.HasAptGet)
        {
            return InstallPlan.Refuse("this machine has no apt-get, and the AppHost installs only with apt (Debian, Ubuntu)");
        }

        if (facts.IsRoot)
        {
            return new InstallPlan(true, ["/bin/sh", "-c"], "as root");
        }

        return facts.HasPasswordlessSudo
            ? new InstallPlan(true, ["sudo", "-n", "/bin/sh", "-c"], "through sudo")
            : InstallPlan.Refuse("installing needs root, and sudo asks for a password");
    }

    /// <summary>The facts of this machine and this configuration.</summary>
    public static async Task<InstallFacts> ObserveAsync(bool allowed, CancellationToken cancellationToken)
    {
        var looksAtPackagePath = RabbitMqServer.ServerScript == RabbitMqServer.PackageServerScript;
        var hasAptGet = ProgramPath.IsOnPath("apt-get");
        var isRoot = Environment.IsPrivilegedProcess;
        var sudo = allowed && looksAtPackagePath && hasAptGet && !isRoot && ProgramPath.IsOnPath("sudo")
            && await SucceedsAsync(new ProcessSpec("sudo", "sudo", ["-n", "true"]), cancellationToken).ConfigureAwait(false);
        return new InstallFacts(allowed, looksAtPackagePath, hasAptGet, isRoot, sudo);
    }

    /// <summary>Runs the install, passing apt's output to <paramref name="output"/>; throws with the exact command when it fails.</summary>
    public static async Task InstallAsync(string name, InstallPlan plan, Action<LogLine> output, CancellationToken cancellationToken)
    {
        var spec = new ProcessSpec(name, plan.Launcher[0], [.. plan.Launcher.Skip(1), Script]);
        await using var process = ManagedProcess.Start(spec, output);
        var exitCode = await process.Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (exitCode != 0 || !RabbitMqServer.IsInstalled)
        {
            var tail = string.Join('\n', process.RecentOutput.TakeLast(15).Select(l => "  " + l.Text));
            throw new InvalidOperationException(
                $"Installing rabbitmq-server with apt-get failed (exit code {exitCode}). Its last output:\n{tail}\n" +
                $"Install it by hand with: {ExactCommand}, then start the AppHost again.");
        }
    }

    private static async Task<bool> SucceedsAsync(ProcessSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            var (exitCode, _) = await ManagedProcess.RunToExitAsync(spec, TimeSpan.FromSeconds(10)).WaitAsync(cancellationToken).ConfigureAwait(false);
            return exitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return false;
        }
    }
}
