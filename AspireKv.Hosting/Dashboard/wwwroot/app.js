// The AspireKv dashboard: a small single-page app over the AppHost's JSON API.
"use strict";

const page = document.getElementById("page");
const colors = ["#5b3fd6", "#2b6cb0", "#38a169", "#d69e2e", "#c53030", "#319795", "#805ad5"];
let timer = null;

const api = async (path, options) => {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (!response.ok && response.status !== 202) throw new Error(`${response.status} ${await response.text()}`);
  return response.status === 202 ? null : response.json();
};
const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const time = (ms) => new Date(ms).toLocaleTimeString();
const duration = (seconds) => seconds == null ? "" : seconds < 60 ? `${seconds.toFixed(0)} s` : seconds < 3600 ? `${(seconds / 60).toFixed(0)} min` : `${(seconds / 3600).toFixed(1)} h`;
const every = (ms, fn) => { fn(); timer = setInterval(fn, ms); };

const ACTIONS = ["start", "stop", "restart", "kill"];
const PAUSE = ["pause", "resume"];

// Asks the AppHost to act on a resource; say(text, bad) reports what happened.
const requestAction = async (name, action, say) => {
  say(`${name}: ${action} requested…`);
  try {
    await api(`/api/resources/${name}/${action}`, { method: "POST", headers: { "x-aspirekv-dashboard": "1" } });
  } catch (e) {
    say(`${name}: ${action} failed: ${e.message.replace(/^\d+ /, "")}`, true);
  }
};
const actionButtons = (name, state, allowed, actions, busy) => actions.map((a) =>
  `<button class="${a === "kill" || a === "remove" ? "danger" : ""}" data-name="${esc(name)}" data-action="${a}" ${allowed.includes(a) && !busy ? "" : "disabled"} title="${allowed.includes(a) ? `${a} ${esc(name)}` : `not while ${esc(state)}`}">${a}</button>`).join("");

async function resources() {
  page.innerHTML = `<h1>Resources</h1><div class="feedback" id="feedback" role="status"></div><table id="resources"><thead><tr><th>Name</th><th>Type</th><th>State</th><th>Health</th><th>PID</th><th>Uptime</th><th>Restarts</th><th>Endpoints</th><th>Actions</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  const feedback = page.querySelector("#feedback");
  const pending = new Set();
  const say = (text, bad) => { feedback.textContent = text; feedback.className = `feedback ${bad ? "bad" : "ok"}`; };
  const act = async (name, action) => {
    pending.add(name);
    try {
      await requestAction(name, action, say);
    } finally {
      setTimeout(() => pending.delete(name), 1500);
    }
  };
  every(1000, async () => {
    const list = await api("/api/resources");
    body.innerHTML = list.map((r) => {
      const endpoints = Object.entries(r.endpoints).map(([k, v]) => v.startsWith("http") ? `<div>${esc(k)}: <a href="${esc(v)}" target="_blank">${esc(v)}</a></div>` : `<div>${esc(k)}: ${esc(v)}</div>`).join("");
      const actions = !r.managed ? `<span class="muted">existing broker</span>`
        : actionButtons(r.name, r.state, r.actions, [...ACTIONS, ...(r.pausable ? PAUSE : []), ...(r.type === "node" ? ["remove"] : [])], pending.has(r.name));
      return `<tr data-resource="${esc(r.name)}"><td>${esc(r.name)}</td><td>${esc(r.type)}</td><td class="state ${esc(r.state)}">${esc(r.state)}${r.stateDetail ? `<div class="muted detail">${esc(r.stateDetail)}</div>` : ""}</td>` +
        `<td class="health ${esc(r.health)}">${esc(r.health)}</td><td>${r.pid ?? ""}</td><td>${duration(r.uptimeSeconds)}</td><td>${r.restarts}</td><td>${endpoints}</td><td>${actions}</td></tr>`;
    }).join("");
    body.querySelectorAll("button").forEach((b) => b.onclick = () => act(b.dataset.name, b.dataset.action));
  });
}

const clock = (iso) => { const d = new Date(iso); return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`; };
// A console line's level, from the .NET console formatter's prefix (or stderr).
const lineLevel = (l) => /^(fail|crit): /.test(l.text) || / (fail|crit): /.test(l.text.slice(0, 12)) ? "err"
  : /^warn: /.test(l.text) ? "warn" : l.isError ? "err" : /^dbug: |^trce: /.test(l.text) ? "dim" : "";

async function consoleLogs(name) {
  const list = await api("/api/resources");
  name = name || list[0]?.name;
  page.innerHTML = `<h1>Console logs</h1><div class="toolbar"><select id="resource">${list.map((r) => `<option ${r.name === name ? "selected" : ""}>${esc(r.name)}</option>`).join("")}</select></div><div class="console" id="lines"></div>`;
  page.querySelector("#resource").onchange = (e) => { location.hash = `#/console/${e.target.value}`; };
  const lines = page.querySelector("#lines");
  let after = 0;
  every(1000, async () => {
    const batch = await api(`/api/console/${encodeURIComponent(name)}?after=${after}`);
    if (!batch.length) return;
    const stick = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 20;
    lines.insertAdjacentHTML("beforeend", batch.map((l) => `<div class="line ${lineLevel(l)}"><span class="ts">${clock(l.time)}</span>${esc(l.text)}</div>`).join(""));
    after = batch[batch.length - 1].sequence;
    while (lines.childElementCount > 5000) lines.firstElementChild.remove();
    if (stick) lines.scrollTop = lines.scrollHeight;
  });
}

const LEVELS = ["Trace", "Debug", "Information", "Warning", "Error", "Critical"];
const levelRank = (severity) => { const i = LEVELS.findIndex((l) => severity && severity.toLowerCase().startsWith(l.toLowerCase().slice(0, 4))); return i < 0 ? 2 : i; };

async function logs() {
  page.innerHTML = `<h1>Structured logs</h1><div class="toolbar">` +
    `<label>Level <select id="level">${LEVELS.map((l, i) => `<option value="${i}" ${i === 0 ? "selected" : ""}>${i === 0 ? "All" : `${l} and above`}</option>`).join("")}</select></label>` +
    `<label>Resource <select id="service"><option value="">All</option></select></label>` +
    `<input id="filter" placeholder="filter"><span class="muted" id="count"></span></div>` +
    `<table id="logs"><thead><tr><th>Time</th><th>Resource</th><th>Level</th><th>Category</th><th>Message</th><th>Trace</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  const [filter, level, service, count] = ["#filter", "#level", "#service", "#count"].map((s) => page.querySelector(s));
  let records = [];
  let after = 0;
  const render = () => {
    const text = filter.value.toLowerCase();
    const min = Number(level.value);
    const shown = records.filter((r) => levelRank(r.severity) >= min && (!service.value || r.service === service.value) &&
      (!text || `${r.service} ${r.severity} ${r.category} ${r.message}`.toLowerCase().includes(text)));
    count.textContent = `${shown.length} of ${records.length}`;
    body.innerHTML = shown.slice(-500).reverse().map((r) =>
      `<tr data-level="${esc(r.severity)}" class="level-${levelRank(r.severity)}"><td>${time(r.timeUnixNano / 1e6)}</td><td>${esc(r.service)}</td><td class="level">${esc(r.severity)}</td><td>${esc(r.category)}</td><td>${esc(r.message)}</td>` +
      `<td>${r.traceId ? `<a href="#/traces/${r.traceId}">${r.traceId.slice(0, 8)}</a>` : ""}</td></tr>`).join("");
  };
  filter.oninput = render;
  level.onchange = render;
  service.onchange = render;
  every(1500, async () => {
    const batch = await api(`/api/logs?after=${after}`);
    if (!batch.length) return;
    records = records.concat(batch).slice(-5000);
    after = batch[batch.length - 1].sequence;
    const known = new Set([...service.options].map((o) => o.value));
    [...new Set(batch.map((r) => r.service))].filter((n) => !known.has(n)).sort().forEach((n) => service.add(new Option(n, n)));
    render();
  });
}

async function traces() {
  page.innerHTML = `<h1>Traces</h1><table id="traces"><thead><tr><th>Time</th><th>Name</th><th>Services</th><th>Spans</th><th>Duration</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  every(2000, async () => {
    const list = await api("/api/traces");
    body.innerHTML = list.map((t) => `<tr class="clickable" data-trace="${t.traceId}"><td>${time(t.startUnixNano / 1e6)}</td><td>${esc(t.root)}${t.hasError ? ' <span class="state Exited">error</span>' : ""}</td>` +
      `<td>${t.services.map(esc).join(", ")}</td><td>${t.spanCount}</td><td>${t.durationMs.toFixed(2)} ms</td></tr>`).join("");
    body.querySelectorAll("tr").forEach((row) => row.onclick = () => { location.hash = `#/traces/${row.dataset.trace}`; });
  });
}

async function trace(id) {
  const spans = await api(`/api/traces/${id}`);
  const back = `<a href="#/traces" id="back" class="back">&larr; All traces</a>`;
  if (!spans.length) { page.innerHTML = `${back}<h1>Trace</h1><p class="muted">No spans for ${esc(id)} (yet).</p>`; return; }
  const start = Math.min(...spans.map((s) => s.startUnixNano));
  const end = Math.max(...spans.map((s) => s.endUnixNano));
  const total = Math.max(end - start, 1);
  const byId = Object.fromEntries(spans.map((s) => [s.spanId, s]));
  const depth = (s) => { let d = 0; for (let p = byId[s.parentSpanId]; p && d < 50; p = byId[p.parentSpanId]) d++; return d; };
  const ordered = [];
  const visit = (parentId) => spans.filter((s) => (s.parentSpanId || "") === parentId || (parentId === "" && s.parentSpanId && !byId[s.parentSpanId]))
    .sort((a, b) => a.startUnixNano - b.startUnixNano).forEach((s) => { if (!ordered.includes(s)) { ordered.push(s); visit(s.spanId); } });
  visit("");
  spans.filter((s) => !ordered.includes(s)).forEach((s) => ordered.push(s));
  const offset = (nano) => `+${((nano - start) / 1e6).toFixed(3)} ms`;
  page.innerHTML = `${back}<h1>Trace <code>${esc(id)}</code></h1><p class="muted">${spans.length} spans, ${((end - start) / 1e6).toFixed(2)} ms, services: ${[...new Set(spans.map((s) => s.service))].map(esc).join(", ")}. Select a span for its details.</p>` +
    `<div class="trace-layout"><table class="waterfall" id="waterfall"><thead><tr><th>Service</th><th>Span</th><th style="width:45%">Timeline</th><th>Duration</th></tr></thead><tbody>` +
    ordered.map((s) => {
      const left = ((s.startUnixNano - start) / total) * 100;
      const width = Math.max(((s.endUnixNano - s.startUnixNano) / total) * 100, 0.3);
      return `<tr class="clickable${s.isError ? " failed" : ""}" data-span="${esc(s.spanId)}" data-service="${esc(s.service)}"><td>${esc(s.service)}</td><td style="padding-left:${10 + depth(s) * 16}px">${esc(s.name)} <span class="muted">${esc(s.kind)}</span>${s.isError ? ' <span class="badge bad">error</span>' : ""}</td>` +
        `<td><div class="bar"><span class="${esc(s.kind)} ${s.isError ? "error" : ""}" style="left:${left}%;width:${width}%"></span></div></td><td>${s.durationMs.toFixed(3)} ms</td></tr>`;
    }).join("") + `</tbody></table><aside id="span-detail" class="detail-pane"></aside></div>`;
  const pane = page.querySelector("#span-detail");
  const rows = page.querySelectorAll("#waterfall tbody tr");
  const show = (span) => {
    rows.forEach((r) => r.classList.toggle("active", r.dataset.span === span.spanId));
    const attributes = Object.entries(span.attributes).sort(([a], [b]) => a.localeCompare(b));
    pane.innerHTML = `<h2>${esc(span.name)}</h2>` +
      `<dl><dt>Service</dt><dd>${esc(span.service)}</dd><dt>Kind</dt><dd>${esc(span.kind)}</dd><dt>Scope</dt><dd>${esc(span.scope)}</dd>` +
      `<dt>Start</dt><dd>${offset(span.startUnixNano)}</dd><dt>Duration</dt><dd>${span.durationMs.toFixed(3)} ms</dd>` +
      `<dt>Status</dt><dd id="span-status" class="${span.isError ? "bad" : ""}">${span.isError ? "Error" : "Unset"}${span.statusMessage ? `: ${esc(span.statusMessage)}` : ""}</dd>` +
      `<dt>Span id</dt><dd><code>${esc(span.spanId)}</code></dd></dl>` +
      `<h3>Attributes</h3>${attributes.length ? `<table class="kv" id="span-attributes">${attributes.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>` : `<p class="muted">None.</p>`}` +
      `<h3>Events</h3>${(span.events || []).length ? `<ul class="events" id="span-events">${span.events.map((e) => `<li><b>${esc(e.name)}</b> <span class="muted">${offset(e.timeUnixNano)}</span>` +
        `${Object.entries(e.attributes).map(([k, v]) => `<div class="muted">${esc(k)} = ${esc(v)}</div>`).join("")}</li>`).join("")}</ul>` : `<p class="muted">None.</p>`}`;
  };
  rows.forEach((row) => row.onclick = () => show(byId[row.dataset.span]));
  show(ordered.find((s) => s.isError) || ordered[0]);
}

const niceStep = (range, ticks) => { const raw = range / ticks; const p = 10 ** Math.floor(Math.log10(raw || 1)); return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || p * 10; };
const short = (v) => Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : String(parseFloat(v.toFixed(2)));

// A line chart with a time axis and a y-axis fitted to the data (not pinned to 0), so a slowly growing value is not a flat line.
function chart(title, series, unit) {
  const names = Object.keys(series).sort();
  const points = names.flatMap((n) => series[n]);
  if (!points.length) return `<div class="chart"><h2>${esc(title)}</h2><p class="muted">No data yet.</p></div>`;
  const [w, h, left, bottom] = [560, 210, 54, 24];
  const xs = points.map((p) => p[0]); const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [lo, hi] = [Math.min(...ys), Math.max(...ys)];
  if (hi === lo) { const pad = Math.max(Math.abs(hi) * 0.05, 1); lo -= pad; hi += pad; }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  if (lo < 0 && Math.min(...ys) >= 0) lo = 0;
  const X = (x) => left + ((x - x0) / Math.max(x1 - x0, 1)) * (w - left - 10);
  const Y = (y) => h - bottom - ((y - lo) / Math.max(hi - lo, 1e-9)) * (h - bottom - 10);
  const yTicks = []; for (let v = lo; v <= hi + step / 2; v += step) yTicks.push(v);
  const xTicks = [0, 1, 2, 3, 4].map((i) => x0 + ((x1 - x0) * i) / 4);
  const grid = yTicks.map((v) => `<line x1="${left}" y1="${Y(v).toFixed(1)}" x2="${w - 10}" y2="${Y(v).toFixed(1)}" stroke="#eef0f4"/><text class="y-tick" x="${left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#6b7280">${short(v)}</text>`).join("") +
    xTicks.map((t, i) => `<text class="x-tick" x="${X(t).toFixed(1)}" y="${h - 6}" text-anchor="${i === 0 ? "start" : i === 4 ? "end" : "middle"}" font-size="11" fill="#6b7280">${new Date(t).toLocaleTimeString([], { hour12: false })}</text>`).join("");
  const lines = names.map((n, i) => `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${series[n].map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ")}"/>`).join("");
  unit = (unit || "").replace(/[{}]/g, "");
  return `<div class="chart"><h2>${esc(title)}${unit ? ` <span class="muted">(${esc(unit)})</span>` : ""}</h2><svg viewBox="0 0 ${w} ${h}" width="100%" style="max-width:${w * 1.3}px">${grid}` +
    `<line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#ccc"/>${lines}</svg>` +
    `<div class="legend">${names.map((n, i) => `<span style="color:${colors[i % colors.length]}">&#9632; ${esc(n)}</span>`).join("")}</div></div>`;
}

// Counters arrive cumulative; the chart shows their rate per second.
const rate = (series) => Object.fromEntries(Object.entries(series).map(([name, points]) => [name, points.slice(1).map((p, i) => [p[0], Math.max(0, (p[1] - points[i][1]) / Math.max((p[0] - points[i][0]) / 1000, 0.001))])]));

async function metrics(selected) {
  page.innerHTML = `<h1>Metrics</h1><div class="toolbar"><label>Metric <select id="metric"><option value="">Overview</option></select></label><span class="muted" id="metric-description"></span></div><div class="charts" id="charts"></div>`;
  const [charts, picker, description] = ["#charts", "#metric", "#metric-description"].map((s) => page.querySelector(s));
  picker.onchange = () => { location.hash = picker.value ? `#/metrics/${encodeURIComponent(picker.value)}` : "#/metrics"; };
  every(2000, async () => {
    const list = await api("/api/metrics/list");
    const known = new Set([...picker.options].map((o) => o.value));
    list.filter((m) => !known.has(m.name)).forEach((m) => picker.add(new Option(m.name, m.name)));
    [...picker.options].sort((a, b) => (a.value === "" ? -1 : b.value === "" ? 1 : a.value.localeCompare(b.value))).forEach((o) => picker.appendChild(o));
    picker.value = selected || "";
    if (selected) {
      const info = list.find((m) => m.name === selected) || { name: selected, unit: "", description: "", cumulative: false };
      description.textContent = info.description;
      const series = await api(`/api/metrics?name=${encodeURIComponent(selected)}`);
      charts.innerHTML = info.cumulative ? chart(`${selected}, per second`, rate(series), `${info.unit}/s`) + chart(`${selected}, total`, series, info.unit) : chart(selected, series, info.unit);
      return;
    }

    description.textContent = "";
    const [ops, revision, lag] = await Promise.all([api("/api/metrics?name=aspirekv.operations"), api("/api/metrics?name=aspirekv.applied_revision"), api("/api/metrics?name=aspirekv.apply.lag.count")]);
    charts.innerHTML = chart("Operations per second, by node", rate(ops), "ops/s") + chart("Applied revision, by node", revision, "") + chart("Log entries applied per second, by node", rate(lag), "entries/s");
  });
}

// The key browser: a node's keys under a prefix (as that node has applied them), and a key's history.
async function keys(selected) {
  const nodes = (await api("/api/resources")).filter((r) => r.type === "node").map((r) => r.name);
  page.innerHTML = `<h1>Keys</h1><div class="toolbar"><select id="node">${nodes.map((n) => `<option>${esc(n)}</option>`).join("")}</select>` +
    `<input id="prefix" placeholder="prefix"><span class="muted" id="revision"></span></div>` +
    `<table id="keys"><thead><tr><th>Key</th><th>Value</th><th>Version</th><th>Created</th><th>Modified</th><th>Lease</th></tr></thead><tbody></tbody></table>` +
    `<div id="history"></div>`;
  const [node, prefix, body, revision, history] = ["#node", "#prefix", "tbody", "#revision", "#history"].map((s) => page.querySelector(s));
  const showHistory = async (key) => {
    selected = key;
    const h = await api(`/api/keys/history?node=${encodeURIComponent(node.value)}&key=${encodeURIComponent(key)}`);
    history.innerHTML = `<h2>History of <code>${esc(key)}</code></h2><p class="muted">The history holds revisions ${h.compactRevision} to ${h.revision} on ${esc(h.node)}.</p>` +
      `<table id="key-history"><thead><tr><th>Revision</th><th>Change</th><th>Value</th><th>Before</th></tr></thead><tbody>` +
      (h.events.length ? h.events.map((e) => `<tr data-revision="${e.revision}"><td>${e.revision}</td><td>${esc(e.type)}</td><td>${esc(e.value ?? "")}</td><td>${esc(e.previous ?? "")}</td></tr>`).join("")
        : `<tr><td colspan="4" class="muted">No changes in the history.</td></tr>`) + "</tbody></table>";
  };
  const refresh = async () => {
    const list = await api(`/api/keys?node=${encodeURIComponent(node.value)}&prefix=${encodeURIComponent(prefix.value)}`);
    const count = list.entries.length;
    revision.textContent = ` ${count}${list.more ? "+" : ""} key${count === 1 && !list.more ? "" : "s"} at revision ${list.revision} on ${list.node}`;
    body.innerHTML = list.entries.map((e) => `<tr class="clickable${e.key === selected ? " active" : ""}" data-key="${esc(e.key)}"><td>${esc(e.key)}</td><td>${esc(e.value)}</td>` +
      `<td>${e.version}</td><td>${e.createRevision}</td><td>${e.modRevision}</td><td>${esc(e.lease ?? "")}</td></tr>`).join("");
    body.querySelectorAll("tr").forEach((row) => row.onclick = () => showHistory(row.dataset.key).then(refresh));
  };
  node.onchange = refresh;
  prefix.oninput = refresh;
  if (selected) showHistory(selected);
  every(2000, () => refresh().catch((e) => { revision.textContent = ` ${e.message}`; }));
}

// Replication: the stream, the brokers (which leads the stream), and how far each node has applied it.
async function replication() {
  page.innerHTML = `<h1>Replication</h1><div class="feedback" id="feedback" role="status"></div>` +
    `<h2>Stream</h2><table id="stream" class="kv"><tbody></tbody></table>` +
    `<h2>Brokers</h2><table id="brokers"><thead><tr><th>Broker</th><th>Erlang node</th><th>State</th><th>Health</th><th>Stream role</th><th>Offset</th><th>Actions</th></tr></thead><tbody></tbody></table>` +
    `<h2>Nodes</h2><div class="toolbar"><button id="add-node" title="Start one more node, declared like the others; it catches up from the log or a peer's snapshot">add a node</button></div><table id="nodes"><thead><tr><th>Node</th><th>State</th><th>Health</th><th>Applied offset</th><th>Revision</th><th>Lag</th><th>Broker</th><th>Last snapshot</th><th>Actions</th></tr></thead><tbody></tbody></table>`;
  const [stream, brokers, nodes, feedback] = ["#stream tbody", "#brokers tbody", "#nodes tbody", "#feedback"].map((q) => page.querySelector(q));
  const say = (text, bad) => { feedback.textContent = text; feedback.className = `feedback ${bad ? "bad" : "ok"}`; };
  const bytes = (n) => n == null ? "" : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
  const wire = (table) => table.querySelectorAll("button").forEach((b) => b.onclick = () => requestAction(b.dataset.name, b.dataset.action, say));
  page.querySelector("#add-node").onclick = async () => {
    say("adding a node…");
    try {
      await api("/api/nodes", { method: "POST", headers: { "x-aspirekv-dashboard": "1" } });
    } catch (e) {
      say(`adding a node failed: ${e.message.replace(/^\d+ /, "")}`, true);
    }
  };
  every(2000, async () => {
    const r = await api("/api/replication");
    const s = r.stream;
    stream.innerHTML = s.error ? `<tr><th>${esc(s.name)}</th><td class="muted" id="stream-error">${esc(s.error)}</td></tr>`
      : `<tr><th>Name</th><td>${esc(s.name)}</td></tr><tr><th>First offset</th><td id="first-offset">${s.firstOffset ?? ""}</td></tr>` +
        `<tr><th>Last offset</th><td id="last-offset">${s.lastOffset ?? ""}</td></tr><tr><th>Size on disk</th><td id="stream-size">${bytes(s.sizeBytes)}${s.source ? ` <span class="muted">(${esc(s.source)}'s replica, ${s.segments ?? "?"} segment${s.segments === 1 ? "" : "s"})</span>` : ""}</td></tr>`;
    brokers.innerHTML = r.brokers.map((b) => `<tr data-broker="${esc(b.name)}"><td>${esc(b.name)}</td><td class="muted">${esc(b.erlangNode ?? "")}</td><td class="state ${esc(b.state)}">${esc(b.state)}</td>` +
      `<td class="health ${esc(b.health)}">${esc(b.health)}</td><td class="role">${b.role === "leader" ? `<b>leader</b>` : esc(b.role ?? "")}</td><td>${b.offset ?? ""}</td>` +
      `<td>${b.managed ? actionButtons(b.name, b.state, b.actions, ["start", "stop", "kill"], false) : `<span class="muted">existing broker</span>`}</td></tr>`).join("");
    nodes.innerHTML = r.nodes.map((n) => {
      const snap = n.lastSnapshot;
      return `<tr data-node="${esc(n.name)}"><td>${esc(n.name)}</td><td class="state ${esc(n.state)}">${esc(n.state)}</td>` +
        `<td class="health ${esc(n.health)}">${esc(n.health)}${n.detail ? `<div class="muted detail">${esc(n.detail)}</div>` : ""}</td>` +
        `<td class="applied-offset">${n.appliedOffset ?? ""}</td><td>${n.appliedRevision ?? ""}</td><td class="lag">${n.lag ?? ""}</td><td>${esc(n.broker ?? "")}</td>` +
        `<td class="snapshot">${snap ? `offset ${snap.appliedOffset}, revision ${snap.revision}, ${bytes(snap.sizeBytes)}, ${esc(snap.source)} at ${time(snap.writtenUnixMs)}` : `<span class="muted">none yet</span>`}</td>` +
        `<td>${actionButtons(n.name, n.state, n.actions, ["pause", "resume", "stop", "start", "kill", "remove"], false)}</td></tr>`;
    }).join("");
    [brokers, nodes].forEach(wire);
  });
}

function route() {
  clearInterval(timer);
  const [, name = "resources", arg] = location.hash.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  const pages = { resources, console: consoleLogs, logs, traces: arg ? () => trace(arg) : traces, metrics, keys, replication };
  (pages[name] || resources)(arg ? decodeURIComponent(arg) : undefined).catch((e) => { page.innerHTML = `<p class="state Exited">${esc(e.message)}</p>`; });
}

window.addEventListener("hashchange", route);
route();
