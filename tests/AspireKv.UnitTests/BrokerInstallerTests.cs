using AspireKv.Hosting.RabbitMQ;

namespace AspireKv.UnitTests;

/// <summary>
/// When the AppHost finds neither rabbitmq-server nor Docker, it installs the package with apt
/// where it may, and otherwise says why it will not and what to run. The real install was run
/// once by hand on a machine after apt-get remove rabbitmq-server (see issue 16's note).
/// </summary>
public sealed class BrokerInstallerTests
{
    private static readonly InstallFacts Root = new(Allowed: true, LooksAtPackagePath: true, HasAptGet: true, IsRoot: true, HasPasswordlessSudo: false);

    [Fact]
    public void As_root_it_installs_with_a_plain_shell()
    {
        var plan = BrokerInstaller.Decide(Root);

        Assert.True(plan.Install);
        Assert.Equal(["/bin/sh", "-c"], plan.Launcher);
    }

    [Fact]
    public void Without_root_it_installs_through_sudo_only_when_sudo_asks_no_password()
    {
        var user = Root with { IsRoot = false };

        var withSudo = BrokerInstaller.Decide(user with { HasPasswordlessSudo = true });
        var withoutSudo = BrokerInstaller.Decide(user);

        Assert.True(withSudo.Install);
        Assert.Equal(["sudo", "-n", "/bin/sh", "-c"], withSudo.Launcher);
        Assert.False(withoutSudo.Install);
        Assert.Contains("needs root", withoutSudo.Reason);
    }

    [Fact]
    public void The_setting_turns_it_off_before_anything_else()
    {
        var plan = BrokerInstaller.Decide(Root with { Allowed = false });

        Assert.False(plan.Install);
        Assert.Contains("Broker:Install=false", plan.Reason);
    }

    [Fact]
    public void It_never_installs_without_apt_or_when_the_broker_is_looked_for_elsewhere()
    {
        var noApt = BrokerInstaller.Decide(Root with { HasAptGet = false });
        var elsewhere = BrokerInstaller.Decide(Root with { LooksAtPackagePath = false });

        Assert.False(noApt.Install);
        Assert.Contains("no apt-get", noApt.Reason);
        Assert.False(elsewhere.Install);
        Assert.Contains(BrokerLayout.ServerScriptVariable, elsewhere.Reason);
    }

    [Fact]
    public async Task The_install_script_parses_keeps_the_packaged_service_from_starting_and_leaves_no_policy_behind()
    {
        var (exitCode, output) = await AspireKv.Testing.ManagedProcess.RunToExitAsync(
            new("sh", "/bin/sh", ["-n", "-c", BrokerInstaller.Script]), TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, output);

        // policy-rc.d exit 101 means "action forbidden" to invoke-rc.d and deb-systemd-invoke.
        Assert.Contains("exit 101", BrokerInstaller.Script);
        Assert.Contains("rm -f \"$policy\"", BrokerInstaller.Script);
        Assert.Contains("systemctl disable --now rabbitmq-server", BrokerInstaller.Script);
        Assert.Contains("apt-get install -y --no-install-recommends rabbitmq-server", BrokerInstaller.Script);
    }
}
