using System.Globalization;
using AspireKv.Hosting.Dashboard.Otlp;
using Google.Protobuf;

namespace AspireKv.Hosting.Dashboard;

/// <summary>Something that happened during a span, such as an exception.</summary>
public sealed record SpanEventRecord(string Name, long TimeUnixNano, IReadOnlyDictionary<string, string> Attributes);

/// <summary>One span as the dashboard shows it.</summary>
public sealed record SpanRecord(
    string TraceId, string SpanId, string ParentSpanId, string Name, string Kind, string Service, string Scope,
    long StartUnixNano, long EndUnixNano, IReadOnlyDictionary<string, string> Attributes, bool IsError, string StatusMessage,
    IReadOnlyList<SpanEventRecord> Events)
{
    public double DurationMs => (EndUnixNano - StartUnixNano) / 1_000_000.0;
}

/// <summary>One log record as the dashboard shows it.</summary>
public sealed record LogRecordView(
    long Sequence, long TimeUnixNano, string Service, string Severity, string Category, string Message, string TraceId, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A metric as the dashboard's picker lists it.</summary>
public sealed record MetricInfo(string Name, string Unit, string Description, bool Cumulative);

/// <summary>One point of a metric series.</summary>
public readonly record struct MetricPoint(long TimeUnixNano, double Value);

/// <summary>
/// What the dashboard has received over OTLP, in memory and bounded: the newest spans, log
/// records and metric points are kept, the oldest dropped.
/// </summary>
public sealed class TelemetryStore
{
    public const int MaxSpans = 20_000;
    public const int MaxLogs = 10_000;
    public const int MaxPointsPerSeries = 600;
    public const int MaxSeries = 2_000;

    private readonly Lock _gate = new();
    private readonly LinkedList<SpanRecord> _spans = new();
    private readonly Dictionary<string, List<SpanRecord>> _traces = [];
    private readonly Queue<LogRecordView> _logs = new();
    private readonly Dictionary<(string Service, string Metric, string Attributes), Queue<MetricPoint>> _series = [];
    private readonly Dictionary<string, MetricInfo> _metricInfo = [];
    private long _logSequence;

    internal void Add(ExportTraceServiceRequest request)
    {
        lock (_gate)
        {
            foreach (var resource in request.ResourceSpans)
            {
                var service = ServiceName(resource.Resource);
                foreach (var scope in resource.ScopeSpans)
                {
                    foreach (var span in scope.Spans)
                    {
                        AddSpan(new SpanRecord(
                            Hex(span.TraceId), Hex(span.SpanId), Hex(span.ParentSpanId), span.Name, KindName(span.Kind), service, scope.Scope?.Name ?? string.Empty,
                            (long)span.StartTimeUnixNano, (long)span.EndTimeUnixNano, Attributes(span.Attributes),
                            span.Status?.Code == 2, span.Status?.Message ?? string.Empty,
                            [.. span.Events.Select(e => new SpanEventRecord(e.Name, (long)e.TimeUnixNano, Attributes(e.Attributes)))]));
                    }
                }
            }
        }
    }

    internal void Add(ExportLogsServiceRequest request)
    {
        lock (_gate)
        {
            foreach (var resource in request.ResourceLogs)
            {
                var service = ServiceName(resource.Resource);
                foreach (var scope in resource.ScopeLogs)
                {
                    foreach (var log in scope.LogRecords)
                    {
                        var attributes = Attributes(log.Attributes);
                        var time = log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano;
                        var message = Text(log.Body);
                        _logs.Enqueue(new LogRecordView(
                            ++_logSequence, (long)time, service, Severity(log), scope.Scope?.Name ?? string.Empty, message, Hex(log.TraceId), attributes));
                        while (_logs.Count > MaxLogs)
                        {
                            _logs.Dequeue();
                        }
                    }
                }
            }
        }
    }

    internal void Add(ExportMetricsServiceRequest request)
    {
        lock (_gate)
        {
            foreach (var resource in request.ResourceMetrics)
            {
                var service = ServiceName(resource.Resource);
                foreach (var scope in resource.ScopeMetrics)
                {
                    foreach (var metric in scope.Metrics)
                    {
                        Describe(metric);
                        switch (metric.DataCase)
                        {
                            case Metric.DataOneofCase.Sum:
                                AddPoints(service, metric.Name, metric.Sum.DataPoints);
                                break;
                            case Metric.DataOneofCase.Gauge:
                                AddPoints(service, metric.Name, metric.Gauge.DataPoints);
                                break;
                            case Metric.DataOneofCase.Histogram:
                                foreach (var point in metric.Histogram.DataPoints)
                                {
                                    AddPoint(service, metric.Name + ".count", AttributeKey(point.Attributes), (long)point.TimeUnixNano, point.Count);
                                }

                                break;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The newest traces first: their root span's name, services, span count, start and duration.</summary>
    public IReadOnlyList<TraceSummary> Traces(int limit = 200, string? service = null)
    {
        lock (_gate)
        {
            return [.. _traces
                .Where(t => service is null || t.Value.Any(s => s.Service == service))
                .Select(t => Summarize(t.Key, t.Value))
                .OrderByDescending(t => t.StartUnixNano)
                .Take(limit)];
        }
    }

    public IReadOnlyList<SpanRecord> Trace(string traceId)
    {
        lock (_gate)
        {
            return _traces.TryGetValue(traceId, out var spans) ? [.. spans.OrderBy(s => s.StartUnixNano)] : [];
        }
    }

    public IReadOnlyList<LogRecordView> Logs(long afterSequence = 0, string? service = null, int limit = 500)
    {
        lock (_gate)
        {
            return [.. _logs.Where(l => l.Sequence > afterSequence && (service is null || l.Service == service)).TakeLast(limit)];
        }
    }

    /// <summary>Every series of <paramref name="metric"/>, one per service (attributes summed), newest points last.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<MetricPoint>> Series(string metric)
    {
        lock (_gate)
        {
            return _series
                .Where(s => s.Key.Metric == metric)
                .GroupBy(s => s.Key.Service)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<MetricPoint>)SumByTime(g.Select(s => s.Value)));
        }
    }

    public IReadOnlyList<string> MetricNames()
    {
        lock (_gate)
        {
            return [.. _series.Keys.Select(k => k.Metric).Distinct().Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Every metric received, with its unit, description, and whether its points are running totals (charted as a rate).</summary>
    public IReadOnlyList<MetricInfo> Metrics()
    {
        lock (_gate)
        {
            return [.. MetricNames().Select(name => _metricInfo.TryGetValue(name, out var info) ? info : new MetricInfo(name, string.Empty, string.Empty, false))];
        }
    }

    private void Describe(Metric metric)
    {
        var cumulative = metric.DataCase == Metric.DataOneofCase.Sum && metric.Sum.IsMonotonic && metric.Sum.AggregationTemporality == 2;
        _metricInfo[metric.Name] = new MetricInfo(metric.Name, metric.Unit, metric.Description, cumulative);
        if (metric.DataCase == Metric.DataOneofCase.Histogram)
        {
            _metricInfo[metric.Name + ".count"] = new MetricInfo(metric.Name + ".count", "{measurement}", $"How many measurements of {metric.Name}.", metric.Histogram.AggregationTemporality == 2);
        }
    }

    private void AddSpan(SpanRecord span)
    {
        _spans.AddLast(span);
        if (!_traces.TryGetValue(span.TraceId, out var trace))
        {
            trace = _traces[span.TraceId] = [];
        }

        trace.Add(span);
        while (_spans.Count > MaxSpans)
        {
            var oldest = _spans.First!.Value;
            _spans.RemoveFirst();
            if (_traces.TryGetValue(oldest.TraceId, out var spans))
            {
                spans.Remove(oldest);
                if (spans.Count == 0)
                {
                    _traces.Remove(oldest.TraceId);
                }
            }
        }
    }

    private void AddPoints(string service, string metric, IEnumerable<NumberDataPoint> points)
    {
        foreach (var point in points)
        {
            var value = point.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? point.AsInt : point.AsDouble;
            AddPoint(service, metric, AttributeKey(point.Attributes), (long)point.TimeUnixNano, value);
        }
    }

    private void AddPoint(string service, string metric, string attributes, long time, double value)
    {
        var key = (service, metric, attributes);
        if (!_series.TryGetValue(key, out var series))
        {
            if (_series.Count >= MaxSeries)
            {
                return;
            }

            series = _series[key] = new Queue<MetricPoint>();
        }

        series.Enqueue(new MetricPoint(time, value));
        while (series.Count > MaxPointsPerSeries)
        {
            series.Dequeue();
        }
    }

    private static List<MetricPoint> SumByTime(IEnumerable<Queue<MetricPoint>> series) =>
        [.. series.SelectMany(s => s)
            .GroupBy(p => p.TimeUnixNano / 500_000_000) // points of one export land within half a second
            .OrderBy(g => g.Key)
            .Select(g => new MetricPoint(g.Max(p => p.TimeUnixNano), g.Sum(p => p.Value)))];

    private static TraceSummary Summarize(string traceId, List<SpanRecord> spans)
    {
        var root = spans.FirstOrDefault(s => s.ParentSpanId.Length == 0 || spans.All(p => p.SpanId != s.ParentSpanId))
            ?? spans.MinBy(s => s.StartUnixNano)!;
        var start = spans.Min(s => s.StartUnixNano);
        var end = spans.Max(s => s.EndUnixNano);
        return new TraceSummary(
            traceId, $"{root.Service}: {root.Name}", [.. spans.Select(s => s.Service).Distinct().Order(StringComparer.Ordinal)],
            spans.Count, start, (end - start) / 1_000_000.0, spans.Any(s => s.IsError));
    }

    private static string ServiceName(Resource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value is { } value ? Text(value) : "unknown";

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes) =>
        attributes.GroupBy(a => a.Key).ToDictionary(g => g.Key, g => Text(g.Last().Value));

    private static string AttributeKey(IEnumerable<KeyValue> attributes) =>
        string.Join(',', attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={Text(a.Value)}"));

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => $"{kv.Key}: {Text(kv.Value)}")) + "}",
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.ToByteArray()),
        _ => string.Empty,
    };

    private static string Hex(ByteString bytes) => bytes.IsEmpty ? string.Empty : Convert.ToHexStringLower(bytes.Span);

    private static string KindName(int kind) => kind switch
    {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    };

    private static string Severity(LogRecord log) => log.SeverityText is { Length: > 0 } text ? text : log.SeverityNumber switch
    {
        >= 21 => "Critical",
        >= 17 => "Error",
        >= 13 => "Warning",
        >= 9 => "Information",
        >= 5 => "Debug",
        > 0 => "Trace",
        _ => "Unspecified",
    };
}

/// <summary>A trace in the list: where it started, what it touched, how long it took.</summary>
public sealed record TraceSummary(string TraceId, string Root, IReadOnlyList<string> Services, int SpanCount, long StartUnixNano, double DurationMs, bool HasError);
