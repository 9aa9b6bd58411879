using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AspireKv.Streams;

/// <summary>
/// One connection to a broker's stream port: the handshake (peer properties, SASL PLAIN, tune,
/// open), requests matched to their responses by correlation id, and the frames the broker sends
/// on its own (confirms, publish errors, chunks, metadata updates, heartbeats, close).
/// Writes gather in one buffer and one loop sends what has gathered; publishes for one publisher
/// that wait together go out as one Publish frame. The callbacks run on the read loop: they must
/// not block.
/// </summary>
public sealed partial class StreamConnection : IAsyncDisposable
{
    /// <summary>The largest Publish frame the client builds by merging publishes.</summary>
    private const int MaxMergedPublishFrame = 256 * 1024;

    /// <summary>
    /// The largest frame read from the broker. A Deliver frame carries a whole chunk, which the
    /// broker does not bound by the tuned frame size; this only keeps a bad length from taking
    /// the process's memory.
    /// </summary>
    private const int MaxIncomingFrame = 256 * 1024 * 1024;

    /// <summary>A Publish frame of one message, less the message: key, version, publisher, count, publishing id, length.</summary>
    public const int PublishFraming = 2 + 2 + 1 + 4 + 8 + 4;

    private readonly StreamConnectionOptions _options;
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<(uint FrameMax, uint Heartbeat)> _tune = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<uint, TaskCompletionSource<byte[]>> _requests = [];
    private readonly Lock _writeGate = new();
    private FrameBuffer _pending = new();
    private FrameBuffer _sending = new();
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private uint _nextCorrelation;
    private int _lastPublishStart = -1;
    private byte _lastPublisher;
    private long _lastRead = Stopwatch.GetTimestamp();
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private Task _heartbeatLoop = Task.CompletedTask;

    private StreamConnection(StreamConnectionOptions options, TcpClient tcp)
    {
        _options = options;
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>host:port of the broker.</summary>
    public string Endpoint => _options.Endpoint;

    /// <summary>The largest frame the broker takes (from Tune): a message must fit in one Publish frame with its framing (<see cref="PublishFraming"/> bytes).</summary>
    public uint FrameMax { get; private set; } = 1024 * 1024;

    /// <summary>The largest message one Publish frame takes: <see cref="FrameMax"/> less <see cref="PublishFraming"/>.</summary>
    public int MaxMessageBytes => (int)Math.Min(int.MaxValue, FrameMax - PublishFraming);

    /// <summary>What the broker said in Open (for example its advertised host and port).</summary>
    public IReadOnlyDictionary<string, string> ServerProperties { get; private set; } = new Dictionary<string, string>();

    /// <summary>Completes, with the reason in words, once the connection is gone.</summary>
    public Task<string> Closed => _closed.Task;

    /// <summary>Confirms: the publisher, and the publishing ids the stream now holds.</summary>
    public Action<byte, ulong[]>? Confirmed { get; set; }

    /// <summary>Refused publishes: the publisher, the publishing id and why.</summary>
    public Action<byte, ulong, StreamResponseCode>? PublishFailed { get; set; }

    /// <summary>A chunk for a subscription. Grant more with <see cref="Credit"/>.</summary>
    public Action<byte, StreamChunk>? ChunkDelivered { get; set; }

    /// <summary>The broker's word that a stream changed (its leader moved, or it was deleted): the code and the stream.</summary>
    public Action<StreamResponseCode, string>? MetadataChanged { get; set; }

    /// <summary>Connects, authenticates and opens the virtual host, within <see cref="StreamConnectionOptions.ConnectTimeout"/>.</summary>
    public static async Task<StreamConnection> ConnectAsync(StreamConnectionOptions options, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(options.ConnectTimeout);
        var tcp = new TcpClient { NoDelay = true };
        StreamConnection? connection = null;
        try
        {
            await tcp.ConnectAsync(options.Host, options.Port, attempt.Token).ConfigureAwait(false);
            connection = new StreamConnection(options, tcp);
            connection.Start();
            await connection.HandshakeAsync(attempt.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            tcp.Dispose();
            if (attempt.IsCancellationRequested)
            {
                throw new TimeoutException($"connecting to RabbitMQ's stream port at {options.Endpoint} timed out after {options.ConnectTimeout.TotalSeconds:0.#} s (a partition, or a broker that does not answer)", ex);
            }

            throw;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            tcp.Dispose();
            throw;
        }
    }

    private void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var properties = new Dictionary<string, string>
        {
            ["product"] = "AspireKv",
            ["platform"] = ".NET",
            ["connection_name"] = _options.ClientName,
        };
        await RequestAsync("peer properties", StreamCommand.PeerProperties, f => f.Map(properties), cancellationToken).ConfigureAwait(false);

        var mechanisms = await RequestAsync("the SASL handshake", StreamCommand.SaslHandshake, _ => { }, cancellationToken).ConfigureAwait(false);
        var offered = ReadStrings(mechanisms);
        if (!offered.Contains("PLAIN"))
        {
            throw new StreamResponseException("SASL PLAIN", StreamResponseCode.SaslMechanismNotSupported);
        }

        var user = Encoding.UTF8.GetBytes(_options.User);
        var password = Encoding.UTF8.GetBytes(_options.Password);
        var plain = new byte[user.Length + password.Length + 2];
        user.CopyTo(plain, 1);
        password.CopyTo(plain, user.Length + 2);
        await RequestAsync("authentication", StreamCommand.SaslAuthenticate, f => f.String("PLAIN").Bytes(plain), cancellationToken).ConfigureAwait(false);

        var (frameMax, serverHeartbeat) = await _tune.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var heartbeat = (uint)Math.Max(1, _options.Heartbeat.TotalSeconds);
        if (serverHeartbeat != 0)
        {
            heartbeat = Math.Min(heartbeat, serverHeartbeat);
        }

        FrameMax = frameMax == 0 ? uint.MaxValue : frameMax;
        Send(f => f.Begin(StreamCommand.Tune).UInt32(frameMax).UInt32(heartbeat));
        _heartbeatLoop = Task.Run(() => HeartbeatLoopAsync(TimeSpan.FromSeconds(heartbeat)));

        var open = await RequestAsync("opening the virtual host", StreamCommand.Open, f => f.String(_options.VirtualHost), cancellationToken).ConfigureAwait(false);
        var reader = new FrameReader(open);
        ServerProperties = reader.Remaining > 0 ? reader.Map() : new Dictionary<string, string>();
    }

    /// <summary>
    /// Sends a request and waits for its response; returns what follows the response code.
    /// A response code other than OK throws <see cref="StreamResponseException"/>, unless
    /// <paramref name="accept"/> takes it.
    /// </summary>
    internal async Task<byte[]> RequestAsync(string what, ushort key, Action<FrameBuffer> fields, CancellationToken cancellationToken, Func<StreamResponseCode, bool>? accept = null, bool hasCode = true)
    {
        var response = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        uint correlation;
        lock (_requests)
        {
            if (_closed.Task.IsCompleted)
            {
                throw Gone();
            }

            correlation = ++_nextCorrelation;
            _requests[correlation] = response;
        }

        try
        {
            Send(f =>
            {
                f.Begin(key).UInt32(correlation);
                fields(f);
            });
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            byte[] frame;
            try
            {
                frame = await response.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"RabbitMQ at {Endpoint} did not answer {what} within {_options.RequestTimeout.TotalSeconds:0.#} s");
            }

            // key, version, correlation id: 8 bytes, then the code where the response has one.
            if (!hasCode)
            {
                return frame[8..];
            }

            if (frame.Length < 10)
            {
                throw new StreamProtocolException($"the response to {what} is {frame.Length} bytes, too short for its code");
            }

            var code = (StreamResponseCode)BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(8));
            if (code != StreamResponseCode.Ok && accept?.Invoke(code) != true)
            {
                throw new StreamResponseException(what, code);
            }

            return frame[10..];
        }
        finally
        {
            lock (_requests)
            {
                _requests.Remove(correlation);
            }
        }
    }

    /// <summary>Adds a frame to what the write loop sends next.</summary>
    internal void Send(Action<FrameBuffer> frame)
    {
        lock (_writeGate)
        {
            ThrowIfFull();
            frame(_pending);
            _pending.EndFrame();
            _lastPublishStart = -1;
        }

        Wake();
    }

    /// <summary>
    /// Publishes one message: completes nothing itself; <see cref="Confirmed"/> reports it by its
    /// publishing id. Publishes that wait together go out in one frame.
    /// </summary>
    public void Publish(byte publisherId, ulong publishingId, ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageBytes)
        {
            throw new ArgumentException($"a message of {message.Length} bytes does not fit in one frame of RabbitMQ at {Endpoint} ({FrameMax} bytes, {PublishFraming} of them framing)", nameof(message));
        }

        lock (_writeGate)
        {
            ThrowIfFull();
            var start = _lastPublishStart;
            if (start >= 0 && _lastPublisher == publisherId && _pending.Length - start + message.Length + 12 <= Math.Min(MaxMergedPublishFrame, FrameMax))
            {
                // Append to the Publish frame that is still the last one waiting: its size at
                // start, then key, version and publisher id (5 bytes), then the count.
                _pending.UInt64(publishingId).Bytes(message);
                _pending.PatchUInt32(start, (uint)(_pending.Length - start - 4));
                _pending.PatchUInt32(start + 9, _pending.UInt32At(start + 9) + 1);
            }
            else
            {
                _lastPublishStart = _pending.Length;
                _lastPublisher = publisherId;
                _pending.Begin(StreamCommand.Publish).UInt8(publisherId).Int32(1).UInt64(publishingId).Bytes(message);
                _pending.EndFrame();
            }
        }

        Wake();
    }

    /// <summary>Completes once everything handed over so far is written to the socket.</summary>
    public Task FlushedAsync()
    {
        lock (_writeGate)
        {
            return _pending.Length == 0 && _sending.Length == 0 ? Task.CompletedTask : _written.Task;
        }
    }

    private void ThrowIfFull()
    {
        if (_closed.Task.IsCompleted)
        {
            throw Gone();
        }

        if (_pending.Length > _options.MaxPendingBytes)
        {
            throw new IOException($"{_pending.Length} bytes already wait to be sent to RabbitMQ at {Endpoint}: the broker or the network to it is not keeping up");
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken.
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                await _wake.WaitAsync(_stopping.Token).ConfigureAwait(false);
                TaskCompletionSource written;
                lock (_writeGate)
                {
                    (_pending, _sending) = (_sending, _pending);
                    _lastPublishStart = -1;
                    written = _written;
                    _written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                if (_sending.Length > 0)
                {
                    await _stream.WriteAsync(_sending.Written, _stopping.Token).ConfigureAwait(false);
                }

                lock (_writeGate)
                {
                    _sending.Clear();
                }

                written.TrySetResult();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            End($"writing to it failed: {ex.Message}");
        }
    }

    private async Task ReadLoopAsync()
    {
        var input = new BufferedStream(_stream, 64 * 1024);
        var size = new byte[4];
        try
        {
            while (true)
            {
                await input.ReadExactlyAsync(size, _stopping.Token).ConfigureAwait(false);
                var length = BinaryPrimitives.ReadUInt32BigEndian(size);
                if (length < 4 || length > MaxIncomingFrame)
                {
                    throw new StreamProtocolException($"the broker sent a frame of {length} bytes, outside 4 to {MaxIncomingFrame}");
                }

                var frame = new byte[length];
                await input.ReadExactlyAsync(frame, _stopping.Token).ConfigureAwait(false);
                Interlocked.Exchange(ref _lastRead, Stopwatch.GetTimestamp());
                Dispatch(frame);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (EndOfStreamException)
        {
            End("the broker closed the connection");
        }
        catch (StreamProtocolException ex)
        {
            End($"the broker sent what this client cannot read: {ex.Message}");
        }
        catch (Exception ex)
        {
            End($"reading from it failed: {ex.Message}");
        }
    }

    private async Task HeartbeatLoopAsync(TimeSpan interval)
    {
        try
        {
            while (true)
            {
                await Task.Delay(interval, _stopping.Token).ConfigureAwait(false);
                var silent = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastRead));
                if (silent > 3 * interval)
                {
                    End($"nothing came from the broker for {silent.TotalSeconds:0} s (no heartbeat): the broker or the network to it stopped answering");
                    return;
                }

                Send(f => f.Begin(StreamCommand.Heartbeat));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
            // Closed meanwhile.
        }
    }

    private void Dispatch(byte[] frame)
    {
        var reader = new FrameReader(frame);
        var key = reader.UInt16();
        reader.UInt16(); // version
        if ((key & StreamCommand.ResponseFlag) != 0 && key != (StreamCommand.Credit | StreamCommand.ResponseFlag))
        {
            var correlation = reader.UInt32();
            TaskCompletionSource<byte[]>? waiting;
            lock (_requests)
            {
                _requests.TryGetValue(correlation, out waiting);
            }

            waiting?.TrySetResult(frame);
            return;
        }

        switch (key)
        {
            case StreamCommand.PublishConfirm:
                {
                    var publisher = reader.UInt8();
                    var ids = new ulong[reader.Count(8)];
                    for (var i = 0; i < ids.Length; i++)
                    {
                        ids[i] = reader.UInt64();
                    }

                    Confirmed?.Invoke(publisher, ids);
                    break;
                }

            case StreamCommand.PublishError:
                {
                    var publisher = reader.UInt8();
                    var count = reader.Count(10);
                    for (var i = 0; i < count; i++)
                    {
                        var id = reader.UInt64();
                        PublishFailed?.Invoke(publisher, id, (StreamResponseCode)reader.UInt16());
                    }

                    break;
                }

            case StreamCommand.Deliver:
                {
                    var subscription = reader.UInt8();
                    var chunk = StreamChunk.Parse(frame.AsMemory(frame.Length - reader.Remaining));
                    ChunkDelivered?.Invoke(subscription, chunk);
                    break;
                }

            case StreamCommand.Credit | StreamCommand.ResponseFlag:
                {
                    var code = (StreamResponseCode)reader.UInt16();
                    End($"the broker refused credit for subscription {reader.UInt8()}: {StreamResponseException.Describe(code)}");
                    break;
                }

            case StreamCommand.MetadataUpdate:
                {
                    var code = (StreamResponseCode)reader.UInt16();
                    MetadataChanged?.Invoke(code, reader.String() ?? string.Empty);
                    break;
                }

            case StreamCommand.Tune:
                _tune.TrySetResult((reader.UInt32(), reader.UInt32()));
                break;

            case StreamCommand.Close:
                {
                    var correlation = reader.UInt32();
                    var code = reader.UInt16();
                    var reason = reader.String();
                    TrySend(f => f.Begin(StreamCommand.Close | StreamCommand.ResponseFlag).UInt32(correlation).UInt16((ushort)StreamResponseCode.Ok));
                    End($"the broker closed it ({code}: {reason})");
                    break;
                }

            default:
                // Heartbeats, and anything newer than this client: nothing to do.
                break;
        }
    }

    private void TrySend(Action<FrameBuffer> frame)
    {
        try
        {
            Send(frame);
        }
        catch (IOException)
        {
            // Closed meanwhile.
        }
    }

    /// <summary>Ends the connection from this side with <paramref name="reason"/>; everything waiting on it fails.</summary>
    public void End(string reason)
    {
        if (!_closed.TrySetResult(reason))
        {
            return;
        }

        lock (_requests)
        {
            foreach (var waiting in _requests.Values)
            {
                waiting.TrySetException(Gone());
            }
        }

        try
        {
            _tcp.Client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception)
        {
            // Already gone.
        }

        _stopping.Cancel();
    }

    private IOException Gone() =>
        new($"the stream connection to RabbitMQ at {Endpoint} is closed: {(_closed.Task.IsCompleted ? _closed.Task.Result : "closing")}");

    public async ValueTask DisposeAsync()
    {
        if (!_closed.Task.IsCompleted)
        {
            try
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await RequestAsync("close", StreamCommand.Close, f => f.UInt16((ushort)StreamResponseCode.Ok).String("closed by the client"), bounded.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Behind a partition a clean close is never answered.
            }

            End("this client closed it");
        }

        await Task.WhenAll(_readLoop, _writeLoop, _heartbeatLoop).ConfigureAwait(false);
        _tcp.Dispose();
        _stopping.Dispose();
        _wake.Dispose();
    }

    private static HashSet<string> ReadStrings(byte[] fields)
    {
        var reader = new FrameReader(fields);
        var count = reader.Count(2);
        var strings = new HashSet<string>(count);
        for (var i = 0; i < count; i++)
        {
            strings.Add(reader.String() ?? string.Empty);
        }

        return strings;
    }
}
