namespace AspireKv.Hosting.RabbitMQ;

/// <summary>
/// What the machine offers for installing rabbitmq-server: the <c>Broker:Install</c> setting,
/// whether the AppHost looks where the package puts the server (not at an <c>ASPIREKV_RABBITMQ_SERVER</c>
/// of its own), apt-get, root, and sudo without a password.
/// </summary>
public readonly record struct InstallFacts(bool Allowed, bool LooksAtPackagePath, bool HasAptGet, bool IsRoot, bool HasPasswordlessSudo);

/// <summary>Either install (with or without sudo), or refuse and say what the user can do instead.</summary>
public sealed record InstallPlan(bool Install, IReadOnlyList<string> Launcher, string Reason)
{
    public static InstallPlan Refuse(string reason) => new(false, [], reason);
}

/// <summary>
/// Gets RabbitMQ onto a machine that has none, as an AppHost pulls a container image on first use:
/// with apt (as root or through sudo without a password), the package's own service kept from
/// starting. Not a private download: Erlang's packages are not relocatable, and apt keeps them patched.
/// </summary>
public static class BrokerInstaller
{
    /// <summary>The setting that turns installing off: <c>Broker:Install=false</c>, or <c>--no-broker-install</c>.</summary>
    public const string Setting = "Broker:Install";

    /// <summary>The command a user runs to install the broker by hand.</summary>
    public const string ExactCommand = "sudo apt-get install -y rabbitmq-server";

    /// <summary>
    /// Installs rabbitmq-server without starting its service (a policy-rc.d that denies starts while it
    /// installs; on systemd, the unit disabled after). A failure ends with the command to run by hand.
    /// </summary>
    internal const string Script = $$"""
        set -e
        trap 'status=$?; if [ "$status" != 0 ]; then echo "Installing rabbitmq-server failed (exit code $status). Install it by hand with: {{ExactCommand}}, then start the AppHost again." >&2; fi' EXIT
        export DEBIAN_FRONTEND=noninteractive
        policy=/usr/sbin/policy-rc.d
        made=0
        if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made=1; fi
        cleanup() { if [ "$made" = 1 ]; then rm -f "$policy"; fi; }
        echo "Installing rabbitmq-server with apt-get, once: the AppHost runs private instances of it."
        apt-get update
        apt-get install -y --no-install-recommends rabbitmq-server || { cleanup; exit 1; }
        cleanup
        if [ -d /run/systemd/system ]; then systemctl disable --now rabbitmq-server || true; fi
        echo "rabbitmq-server is installed."
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
            return InstallPlan.Refuse($"{BrokerLayout.ServerScriptVariable} points at {BrokerLayout.ServerScript}, which a package install would not create");
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
    public static InstallFacts Observe(bool allowed)
    {
        var looksAtPackagePath = BrokerLayout.ServerScript == BrokerLayout.PackageServerScript;
        var hasAptGet = Programs.IsOnPath("apt-get");
        var isRoot = Environment.IsPrivilegedProcess;
        var sudo = allowed && looksAtPackagePath && hasAptGet && !isRoot && Programs.IsOnPath("sudo")
            && Programs.Succeeds("sudo", ["-n", "true"], TimeSpan.FromSeconds(10));
        return new InstallFacts(allowed, looksAtPackagePath, hasAptGet, isRoot, sudo);
    }
}
