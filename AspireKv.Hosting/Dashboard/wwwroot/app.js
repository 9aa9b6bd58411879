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

async function resources() {
  page.innerHTML = `<h1>Resources</h1><table id="resources"><thead><tr><th>Name</th><th>Type</th><th>State</th><th>Health</th><th>PID</th><th>Uptime</th><th>Restarts</th><th>Endpoints</th><th>Actions</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  const act = async (name, action) => { await api(`/api/resources/${name}/${action}`, { method: "POST", headers: { "x-aspirekv-dashboard": "1" } }); };
  every(1000, async () => {
    const list = await api("/api/resources");
    body.innerHTML = list.map((r) => {
      const endpoints = Object.entries(r.endpoints).map(([k, v]) => v.startsWith("http") ? `<div>${esc(k)}: <a href="${esc(v)}" target="_blank">${esc(v)}</a></div>` : `<div>${esc(k)}: ${esc(v)}</div>`).join("");
      const actions = !r.managed ? `<span class="muted">existing broker</span>`
        : r.type === "node" ? ["start", "stop", "restart", "kill"].map((a) => `<button class="${a === "kill" ? "danger" : ""}" data-name="${esc(r.name)}" data-action="${a}">${a}</button>`).join("")
        : (r.endpoints.management ? `<a href="${esc(r.endpoints.management)}" target="_blank">management UI</a>` : "");
      return `<tr data-resource="${esc(r.name)}"><td>${esc(r.name)}</td><td>${esc(r.type)}</td><td class="state ${esc(r.state)}">${esc(r.state)}${r.stateDetail ? `<div class="muted">${esc(r.stateDetail)}</div>` : ""}</td>` +
        `<td>${esc(r.health)}</td><td>${r.pid ?? ""}</td><td>${duration(r.uptimeSeconds)}</td><td>${r.restarts}</td><td>${endpoints}</td><td>${actions}</td></tr>`;
    }).join("");
    body.querySelectorAll("button").forEach((b) => b.onclick = () => act(b.dataset.name, b.dataset.action));
  });
}

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
    lines.insertAdjacentHTML("beforeend", batch.map((l) => `<div class="${l.isError ? "err" : ""}">${esc(l.text)}</div>`).join(""));
    after = batch[batch.length - 1].sequence;
    while (lines.childElementCount > 5000) lines.firstElementChild.remove();
    if (stick) lines.scrollTop = lines.scrollHeight;
  });
}

async function logs() {
  page.innerHTML = `<h1>Structured logs</h1><div class="toolbar"><input id="filter" placeholder="filter"></div><table><thead><tr><th>Time</th><th>Service</th><th>Level</th><th>Category</th><th>Message</th><th>Trace</th></tr></thead><tbody></tbody></table>`;
  const body = page.querySelector("tbody");
  const filter = page.querySelector("#filter");
  let records = [];
  let after = 0;
  const render = () => {
    const text = filter.value.toLowerCase();
    body.innerHTML = records.filter((r) => !text || `${r.service} ${r.severity} ${r.category} ${r.message}`.toLowerCase().includes(text)).slice(-500).reverse().map((r) =>
      `<tr><td>${time(r.timeUnixNano / 1e6)}</td><td>${esc(r.service)}</td><td>${esc(r.severity)}</td><td>${esc(r.category)}</td><td>${esc(r.message)}</td>` +
      `<td>${r.traceId ? `<a href="#/traces/${r.traceId}">${r.traceId.slice(0, 8)}</a>` : ""}</td></tr>`).join("");
  };
  filter.oninput = render;
  every(1500, async () => {
    const batch = await api(`/api/logs?after=${after}`);
    if (!batch.length) return;
    records = records.concat(batch).slice(-5000);
    after = batch[batch.length - 1].sequence;
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
  if (!spans.length) { page.innerHTML = `<h1>Trace</h1><p class="muted">No spans for ${esc(id)} (yet).</p>`; return; }
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
  page.innerHTML = `<h1>Trace <code>${esc(id)}</code></h1><p class="muted">${spans.length} spans, ${((end - start) / 1e6).toFixed(2)} ms, services: ${[...new Set(spans.map((s) => s.service))].map(esc).join(", ")}</p>` +
    `<table class="waterfall" id="waterfall"><thead><tr><th>Service</th><th>Span</th><th style="width:45%">Timeline</th><th>Duration</th></tr></thead><tbody>` +
    ordered.map((s) => {
      const left = ((s.startUnixNano - start) / total) * 100;
      const width = Math.max(((s.endUnixNano - s.startUnixNano) / total) * 100, 0.3);
      const attrs = Object.entries(s.attributes).map(([k, v]) => `${k}=${v}`).join("  ");
      return `<tr data-service="${esc(s.service)}" title="${esc(attrs)}"><td>${esc(s.service)}</td><td style="padding-left:${10 + depth(s) * 16}px">${esc(s.name)} <span class="muted">${esc(s.kind)}</span></td>` +
        `<td><div class="bar"><span class="${esc(s.kind)} ${s.isError ? "error" : ""}" style="left:${left}%;width:${width}%"></span></div></td><td>${s.durationMs.toFixed(3)} ms</td></tr>`;
    }).join("") + "</tbody></table>";
}

function chart(title, series, unit) {
  const names = Object.keys(series).sort();
  const points = names.flatMap((n) => series[n]);
  if (!points.length) return `<div class="chart"><h2>${esc(title)}</h2><p class="muted">No data yet.</p></div>`;
  const [w, h, pad] = [560, 200, 34];
  const xs = points.map((p) => p[0]); const ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]; const y1 = Math.max(...ys, 1);
  const X = (x) => pad + ((x - x0) / Math.max(x1 - x0, 1)) * (w - pad - 8);
  const Y = (y) => h - 20 - (y / y1) * (h - 34);
  const lines = names.map((n, i) => `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="2" points="${series[n].map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ")}"/>`).join("");
  return `<div class="chart"><h2>${esc(title)}</h2><svg viewBox="0 0 ${w} ${h}" width="100%"><line x1="${pad}" y1="${h - 20}" x2="${w}" y2="${h - 20}" stroke="#ccc"/>` +
    `<text x="2" y="14" font-size="11" fill="#6b7280">${y1.toFixed(0)} ${esc(unit)}</text><text x="2" y="${h - 22}" font-size="11" fill="#6b7280">0</text>${lines}</svg>` +
    `<div class="legend">${names.map((n, i) => `<span style="color:${colors[i % colors.length]}">&#9632; ${esc(n)}</span>`).join("")}</div></div>`;
}

// Counters arrive cumulative; the chart shows their rate per second.
const rate = (series) => Object.fromEntries(Object.entries(series).map(([name, points]) => [name, points.slice(1).map((p, i) => [p[0], Math.max(0, (p[1] - points[i][1]) / Math.max((p[0] - points[i][0]) / 1000, 0.001))])]));

async function metrics() {
  page.innerHTML = `<h1>Metrics</h1><div class="charts" id="charts"></div>`;
  const charts = page.querySelector("#charts");
  every(2000, async () => {
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

function route() {
  clearInterval(timer);
  const [, name = "resources", arg] = location.hash.split("/");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  const pages = { resources, console: consoleLogs, logs, traces: arg ? () => trace(arg) : traces, metrics, keys };
  (pages[name] || resources)(arg ? decodeURIComponent(arg) : undefined).catch((e) => { page.innerHTML = `<p class="state Exited">${esc(e.message)}</p>`; });
}

window.addEventListener("hashchange", route);
route();
