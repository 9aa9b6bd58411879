using System.Globalization;
using System.Security.Cryptography;
using AspireKv.Hosting.Processes;

namespace AspireKv.Hosting.Broker;

/// <summary>
/// RabbitMQ in a Docker container, for machines with a Docker engine but no rabbitmq-server.
/// The container keeps its data across stop and start, and is removed when the AppHost ends.
/// </summary>
public sealed class RabbitMqContainer(string name, Action<LogLine>? output = null)
{
    /// <summary>The image; <c>ASPIREKV_RABBITMQ_IMAGE</c> overrides it.</summary>
    public static string Image => Environment.GetEnvironmentVariable("ASPIREKV_RABBITMQ_IMAGE") is { Length: > 0 } image ? image : "rabbitmq:3-management";

    private readonly string _container = $"aspirekv-{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    private readonly string _password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly int _amqpPort = PortAllocator.Next();
    private readonly int _managementPort = PortAllocator.Next();
    private bool _created;
    private ManagedProcess? _logs;

    public string ConnectionString => $"amqp://guest:{_password}@127.0.0.1:{_amqpPort}";

    public Uri ManagementUrl => new($"http://127.0.0.1:{_managementPort}/");

    /// <summary>True when <c>docker</c> is installed and its engine answers within a few seconds.</summary>
    public static bool EngineAnswers()
    {
        try
        {
            var (exitCode, _) = RunAsync(["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            return exitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var (exitCode, text) = _created
            ? await RunAsync(["start", _container], TimeSpan.FromMinutes(1)).ConfigureAwait(false)
            : await RunAsync(
                [
                    "run", "-d", "--name", _container,
                    "-p", $"127.0.0.1:{_amqpPort}:5672", "-p", $"127.0.0.1:{_managementPort}:15672",
                    "-e", "RABBITMQ_DEFAULT_USER=guest", "-e", $"RABBITMQ_DEFAULT_PASS={_password}",
                    Image,
                ],
                TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"docker could not start the {name} container: {text}");
        }

        _created = true;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _logs = ManagedProcess.Start(new ProcessSpec(name, "docker", ["logs", "-f", "--since", since, _container]), line =>
        {
            if (line.Text.Contains("Server startup complete", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }

            output?.Invoke(line);
        });
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_created)
        {
            await RunAsync(["stop", "-t", "30", _container], TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        }

        await StopFollowingLogsAsync().ConfigureAwait(false);
    }

    public async Task KillAsync()
    {
        if (_created)
        {
            await RunAsync(["kill", _container], TimeSpan.FromMinutes(1)).ConfigureAwait(false);
        }

        await StopFollowingLogsAsync().ConfigureAwait(false);
    }

    public async Task RemoveAsync()
    {
        if (_created)
        {
            await RunAsync(["rm", "-f", _container], TimeSpan.FromMinutes(1)).ConfigureAwait(false);
            _created = false;
        }
    }

    private async Task StopFollowingLogsAsync()
    {
        if (_logs is not null)
        {
            await _logs.DisposeAsync().ConfigureAwait(false);
            _logs = null;
        }
    }

    private static Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout) =>
        ManagedProcess.RunToExitAsync(new ProcessSpec("docker", "docker", arguments), timeout);
}
