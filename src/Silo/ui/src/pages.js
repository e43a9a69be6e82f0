// The dashboard's pages. Each renders into `view` from API answers; `current()` says whether the user is still on it
// (a live page stops refreshing once they moved on).
import { api, session, query, seg, ApiError } from "./api.js";
import { el, table, card, fmt } from "./dom.js";
import { lineChart, barChart, lineageGraph } from "./charts.js";

const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();
const tenantPath = (tenant) => `/tenants/${seg(tenant)}`;
const link = (href, text) => el("a", { href }, text);

// ---- Sign in -------------------------------------------------------------------------------------------------------

export async function signIn(view) {
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const input = el("input", { id: "apikey", name: "apikey", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      session.signOut();
      session.signIn(input.value.trim());
      try {
        session.me = await api("/me");
        location.hash = "#/";
      } catch (e) {
        session.signOut();
        error.hidden = false;
        error.textContent = e instanceof ApiError && e.status === 401 ? "This API key was not accepted." : e.message;
      }
    },
  },
  el("label", { for: "apikey" }, "API key", input),
  el("p", { class: "muted" }, "The key stays in this tab's session storage and is sent only to this platform's API."),
  el("button", { type: "submit" }, "Sign in"), error);
  view.append(el("div", { class: "signin" }, el("h1", {}, "Sign in to Phantom ML"), form));
}

export async function home() {
  const me = session.me;
  location.replace(me.tenantKey ? `#/t/${seg(me.tenantKey)}` : "#/platform");
}

// ---- Tenant overview -----------------------------------------------------------------------------------------------

export async function overview(view, { tenant }) {
  const base = tenantPath(tenant);
  const [quotas, models, jobs, agents, executions, runs, service] = await Promise.all([
    api(`${base}/quotas`), api(`${base}/models${query({ limit: 100 })}`), api(`${base}/training-jobs${query({ limit: 25 })}`),
    api(`${base}/agents`).catch(() => []), api(`${base}/agent-executions${query({ limit: 10 })}`).catch(() => []),
    api(`${base}/workflow-runs${query({ limit: 10 })}`).catch(() => []),
    api(`${base}/analytics/service${query({ from: hourAgo() })}`).catch(() => null),
  ]);
  view.append(el("h1", {}, `Tenant ${tenant}`));
  if (service) {
    const t = service.totals;
    view.append(el("div", { class: "cards" },
      card("Requests, last hour", fmt.n(t.requests)), card("Latency p50 / p95", `${fmt.ms(t.p50Ms)} / ${fmt.ms(t.p95Ms)}`),
      card("Client errors", fmt.n(t.clientErrors)), card("Server errors", fmt.n(t.serverErrors)),
      card("Models", fmt.n(models.models.length)), card("Agents", fmt.n(agents.length))));
  }

  view.append(el("h2", {}, "Models"), table("Registered models", ["Name", "Type", "Status", "Active version", "Aliases", "Updated"],
    models.models.map(m => [link(`#/t/${seg(tenant)}/models/${seg(m.name)}`, m.name), `${m.modelType} / ${m.algorithm}`, m.status,
      m.activeVersion ?? "–", Object.entries(m.aliases).map(([a, v]) => `${a} → ${v}`).join(", ") || "–", fmt.time(m.updatedAt)])));

  view.append(el("h2", {}, "Training jobs"), table("Latest training jobs", ["Job", "Model", "Status", { label: "Progress", num: true }, "Created"],
    jobs.map(j => [link(`#/t/${seg(tenant)}/jobs/${seg(j.id)}`, j.jobName), j.modelName ?? "–", j.status, `${Math.round(j.progress * 100)}%`,
      fmt.time(j.createdAt)])));

  view.append(el("h2", {}, "Agents"), table("Agents", ["Agent", "Type", "Version", "Enabled"],
    agents.map(a => [a.name, a.agentType, a.version, a.enabled ? "yes" : "no"])),
  table("Latest agent executions", ["Agent", "Status", { label: "Attempt", num: true }, "Created"],
    executions.map(e => [e.agent, e.status, fmt.n(e.attempt), fmt.time(e.createdAt)])),
  table("Latest workflow runs", ["Workflow", "Status", "Steps", "Created"],
    runs.map(r => [`${r.workflow} v${r.workflowVersion}`, r.status, String(r.steps.length), fmt.time(r.createdAt)])));

  view.append(el("h2", {}, "Usage against quotas"), table("Quotas this period", ["Quota", "Kind", { label: "Used", num: true },
    { label: "Limit", num: true }, "Share"],
  quotas.filter(q => q.kind !== "limit").map(q => [q.resource, q.kind, fmt.n(q.used), fmt.n(q.limit), usageBar(q.used, q.limit)])));
}

function usageBar(used, limit) {
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  const fill = el("span");
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return el("div", { class: share > 0.9 ? "bar high" : "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": String(limit),
    "aria-valuenow": String(used), "aria-label": `${(share * 100).toFixed(1)}% used` }, fill);
}

// ---- Model ---------------------------------------------------------------------------------------------------------

export async function model(view, { tenant, model: name }) {
  const base = `${tenantPath(tenant)}/models/${seg(name)}`;
  const [found, versions] = await Promise.all([api(base), api(`${base}/versions`)]);
  view.append(el("h1", {}, `Model ${found.name}`),
    el("p", { class: "muted" }, `${found.modelType} / ${found.algorithm} · ${found.status} · active version ${found.activeVersion ?? "none"}`));
  view.append(el("h2", {}, "Versions"), table("Versions, oldest first", ["Version", "Parent", { label: "Accuracy", num: true },
    { label: "Precision", num: true }, { label: "Recall", num: true }, "State", "Created", "By"],
  versions.map(v => [v.version, v.parentVersion ?? "–", fmt.n(v.accuracy), fmt.n(v.precision), fmt.n(v.recall),
    v.isActive ? "active" : v.archivedAt ? `archived ${fmt.time(v.archivedAt)}` : "", fmt.time(v.createdAt), v.createdBy])));
  view.append(el("h2", {}, "Aliases"), table("Aliases", ["Alias", "Version"], Object.entries(found.aliases).map(([a, v]) => [a, v])));

  // Lineage: where each version came from and what came from it (the registry keeps at most a few hundred versions).
  const walks = [];
  const walk = (type, id, direction) => walks.push(api(`${tenantPath(tenant)}/lineage${query({ resourceType: type, resourceId: id, direction, depth: 6 })}`)
    .then(trace => trace.links).catch(e => e instanceof ApiError && e.status === 404 ? [] : Promise.reject(e)));
  walk("model", found.name, "upstream");
  walk("model", found.name, "downstream");
  for (const v of versions.slice(-25)) {
    walk("model_version", `${found.name}/versions/${v.version}`, "upstream");
    walk("model_version", `${found.name}/versions/${v.version}`, "downstream");
  }
  const unique = new Map();
  for (const l of (await Promise.all(walks)).flat()) unique.set(`${l.resourceType}|${l.resourceId}|${l.parentType}|${l.parentId}`, l);
  const graph = el("div", { class: "lineage", id: "lineage" });
  view.append(el("h2", {}, "Lineage"));
  if (unique.size) {
    view.append(graph);
    lineageGraph(graph, { focus: { type: "model", id: found.name }, links: [...unique.values()] });
  } else {
    view.append(el("p", { class: "muted" }, "No lineage recorded yet."));
  }

  view.append(el("h2", {}, "Serving, last hour"));
  const analytics = await api(`${base}/analytics${query({ from: hourAgo(), bucketSeconds: 60 })}`);
  servingSection(view, analytics);
}

function servingSection(view, analytics) {
  view.append(table("Per version and route", ["Version", "Route", { label: "Requests", num: true }, { label: "Predictions", num: true },
    { label: "Cached", num: true }, { label: "p50", num: true }, { label: "p95", num: true }, { label: "p99", num: true },
    { label: "Mean confidence", num: true }],
  analytics.versions.map(v => [v.version, v.route, fmt.n(v.requests), fmt.n(v.predictions), fmt.n(v.cachedRequests), fmt.ms(v.p50Ms),
    fmt.ms(v.p95Ms), fmt.ms(v.p99Ms), fmt.n(v.meanConfidence)]), "no predictions in this window."));
  if (!analytics.versions.length) return;
  const latency = el("div", { class: "chart" });
  const throughput = el("div", { class: "chart" });
  const histogram = el("div", { class: "chart" });
  view.append(latency, throughput, histogram);
  const primary = analytics.versions.find(v => v.route === "primary") ?? analytics.versions[0];
  const x = primary.buckets.map(b => Date.parse(b.start) / 1000);
  const xRange = [Date.parse(analytics.from) / 1000, Date.parse(analytics.to) / 1000];
  lineChart(latency, { title: `Latency of ${primary.version} (${primary.route}), ms`, xLabel: "time", time: true, x,
    series: [{ label: "p50", values: primary.buckets.map(b => b.p50Ms) }, { label: "p95", values: primary.buckets.map(b => b.p95Ms) },
      { label: "p99", values: primary.buckets.map(b => b.p99Ms) }], height: 220, xRange });
  lineChart(throughput, { title: "Predictions per second, per version and route", xLabel: "time", time: true, x,
    series: analytics.versions.map(v => ({ label: `${v.version} ${v.route}`,
      values: x.map(t => v.buckets.find(b => Date.parse(b.start) / 1000 === t)?.predictionsPerSecond ?? 0) })), height: 220, xRange });
  const bins = analytics.versions.reduce((sum, v) => sum.map((n, i) => n + (v.confidenceBins[i] ?? 0)), new Array(10).fill(0));
  barChart(histogram, { title: "Confidence of predictions", labels: bins.map((_, i) => (i / 10).toFixed(1)), values: bins });
}

// ---- Training job --------------------------------------------------------------------------------------------------

export async function job(view, { tenant, job: jobId }, current) {
  const base = `${tenantPath(tenant)}/training-jobs/${seg(jobId)}`;
  // The names come from the hourly rollup (fast). The latest values scan every point: they are asked for after the curve,
  // so the two big queries do not compete for the same cores.
  const [found, names] = await Promise.all([api(base), api(`${base}/metric-names`)]);
  const latest = el("div", { id: "latest" }, el("p", { class: "muted" }, "Latest values: loading…"));
  view.append(el("h1", {}, `Training job ${found.jobName}`),
    el("p", { class: "muted" }, `model ${found.modelName ?? "–"} · ${found.status} · ${Math.round(found.progress * 100)}% · attempt ${found.attempt} · ` +
      `dataset ${found.datasetUri}`));
  if (found.errorMessage) view.append(el("p", { class: "error" }, found.errorMessage));
  view.append(latest);
  const showLatest = () => api(`${base}/metrics/latest`).then(values => current() && latest.replaceChildren(
    table("Latest value of each metric", ["Metric", { label: "Step", num: true }, { label: "Value", num: true }, "At"],
      values.map(m => [m.metric, fmt.n(m.step), fmt.n(m.value), fmt.time(m.timestamp)]), "no metrics logged yet.")),
  e => latest.replaceChildren(el("p", { class: "error" }, e.message)));
  if (!names.length) {
    showLatest();
    return;
  }

  const select = el("select", { id: "metric" }, names.map(name => el("option", { value: name }, name)));
  const reset = el("button", { type: "button", class: "secondary", hidden: true }, "Show all steps");
  const status = el("p", { class: "muted", id: "curve-status", "aria-live": "polite" });
  const chart = el("div", { class: "chart", id: "curve" });
  view.append(el("h2", {}, "Metric curve"), el("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
    el("label", { for: "metric" }, "Metric", select), reset), status, chart);

  let zoom = null; // [fromStep, toStep] while zoomed in
  // One bucket per pixel of the chart: the server downsamples (min, max and mean of each bucket), so a million points
  // cost the browser no more than a thousand.
  const width = Math.max(300, Math.min(document.getElementById("main")?.clientWidth - 40 || 1000, 1140));
  const fetchHistory = () => api(`${base}/metrics/${select.value.split("/").map(seg).join("/")}${query({
    maxPoints: Math.min(2000, width), fromStep: zoom?.[0], toStep: zoom?.[1] })}`);
  const draw = (history) => {
    if (!current()) return;
    const b = history.buckets;
    status.textContent = `${fmt.n(history.totalPoints)} points ${zoom ? `between steps ${fmt.n(zoom[0])} and ${fmt.n(zoom[1])}` : ""}` +
      ` in ${fmt.n(b.length)} buckets (min, max and mean of each). Drag across the chart to zoom in.`;
    chart.dataset.total = String(history.totalPoints);
    lineChart(chart, { title: select.value, xLabel: "step", x: b.map(p => p.firstStep),
      series: [{ label: select.value, values: b.map(p => p.avg), min: b.map(p => p.min), max: b.map(p => p.max) }],
      onZoom: (from, to) => { zoom = [Math.max(0, Math.floor(from)), Math.ceil(to)]; reset.hidden = false; refresh(); } });
  };
  const refresh = () => fetchHistory().then(draw, e => status.replaceChildren(el("span", { class: "error" }, e.message)));
  select.addEventListener("change", () => { zoom = null; reset.hidden = true; refresh(); });
  reset.addEventListener("click", () => { zoom = null; reset.hidden = true; refresh(); });
  // Asked for now, drawn once the page is on screen (the chart measures its container).
  const first = fetchHistory();
  setTimeout(() => first.then(draw, e => status.replaceChildren(el("span", { class: "error" }, e.message))).finally(showLatest), 0);
  if (["scheduled", "running", "queued"].includes(found.status)) {
    const timer = setInterval(() => {
      if (!current()) clearInterval(timer);
      else if (!zoom) { refresh(); showLatest(); }
    }, 5000);
  }
}

// ---- Inference analytics -------------------------------------------------------------------------------------------

export async function inference(view, { tenant }) {
  const models = (await api(`${tenantPath(tenant)}/models${query({ limit: 100 })}`)).models;
  view.append(el("h1", {}, "Inference analytics"));
  if (!models.length) {
    view.append(el("p", { class: "muted" }, "No models yet."));
    return;
  }
  const select = el("select", { id: "model" }, models.map(m => el("option", { value: m.name }, m.name)));
  const windowSelect = el("select", { id: "window" }, [["1", "last hour"], ["24", "last day"], ["168", "last week"]]
    .map(([hours, label]) => el("option", { value: hours }, label)));
  const section = el("div");
  const show = async () => {
    const hours = Number(windowSelect.value);
    const analytics = await api(`${tenantPath(tenant)}/models/${seg(select.value)}/analytics${query({
      from: new Date(Date.now() - hours * 3600_000).toISOString(), bucketSeconds: hours * 60 })}`);
    section.replaceChildren();
    servingSection(section, analytics);
  };
  select.addEventListener("change", show);
  windowSelect.addEventListener("change", show);
  view.append(el("form", { class: "inline", onsubmit: (e) => e.preventDefault() },
    el("label", { for: "model" }, "Model", select), el("label", { for: "window" }, "Window", windowSelect)), section);
  await show();
}

// ---- Agents --------------------------------------------------------------------------------------------------------

export async function agents(view, { tenant }) {
  const base = tenantPath(tenant);
  const [list, executions, workflows, runs] = await Promise.all([api(`${base}/agents`), api(`${base}/agent-executions${query({ limit: 100 })}`),
    api(`${base}/workflows`), api(`${base}/workflow-runs${query({ limit: 100 })}`)]);
  view.append(el("h1", {}, "Agents and workflows"),
    table("Agents", ["Agent", "Type", "Version", "Enabled", { label: "Timeout", num: true }, { label: "Retries", num: true }],
      list.map(a => [a.name, a.agentType, a.version, a.enabled ? "yes" : "no", fmt.ms(a.timeoutMs), fmt.n(a.maxRetries)])),
    el("h2", {}, "Executions"),
    table("Agent executions, newest first", ["Agent", "Status", { label: "Attempt", num: true }, "Waiting for", { label: "Took", num: true },
      "Created", "Completed"],
    executions.map(e => [`${e.agent} v${e.agentVersion}`, e.status, fmt.n(e.attempt), e.waitingFor ?? "–", fmt.ms(e.executionTimeMs),
      fmt.time(e.createdAt), fmt.time(e.completedAt)])),
    el("h2", {}, "Workflows"),
    table("Workflows", ["Workflow", "Version"], workflows.map(w => [w.name, String(w.version)])),
    table("Workflow runs, newest first", ["Workflow", "Status", "Steps", "Created", "Completed"],
      runs.map(r => [`${r.workflow} v${r.workflowVersion}`, r.status, r.steps.map(s => `${s.name}: ${s.status}`).join(", "),
        fmt.time(r.createdAt), fmt.time(r.completedAt)])));
}

// ---- Audit search --------------------------------------------------------------------------------------------------

export async function audit(view, { tenant }) {
  const fields = [["q", "Words or \"a phrase\""], ["userId", "User"], ["action", "Action"], ["resourceType", "Resource type"]];
  const inputs = Object.fromEntries(fields.map(([name]) => [name, el("input", { id: `audit-${name}`, name, type: "search" })]));
  const results = el("div", { id: "audit-results" });
  const search = async () => {
    const values = Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()]));
    try {
      const page = await api(`${tenantPath(tenant)}/audit/search${query({ ...values, limit: 100 })}`);
      results.replaceChildren(table(`${page.entries.length} entries, newest first`, ["When", "User", "Event", "Resource", "Action", "Result",
        { label: "Risk", num: true }],
      page.entries.map(e => [fmt.time(e.timestamp), e.userId, e.eventType, `${e.resourceType} ${e.resourceId}`, e.action, e.result,
        fmt.n(e.riskScore)]), "no entries match."));
    } catch (e) {
      results.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
    }
  };
  view.append(el("h1", {}, "Audit trail"),
    el("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); search(); } },
      fields.map(([name, label]) => el("label", { for: `audit-${name}` }, label, inputs[name])), el("button", { type: "submit" }, "Search")),
    results);
  await search();
}

// ---- Platform health (platform admins) -----------------------------------------------------------------------------

export async function platform(view) {
  const [health, top, service, tenants] = await Promise.all([
    api(`/cluster/analytics/health${query({ bucketSeconds: 60 })}`), api(`/cluster/analytics/top-tenants${query({ limit: 20 })}`),
    api(`/cluster/analytics/service${query({ from: hourAgo() })}`), api(`/tenants${query({ limit: 500 })}`)]);
  view.append(el("h1", {}, "Platform health"));
  const t = service.totals;
  view.append(el("div", { class: "cards" }, card("Silos", fmt.n(health.silos.length)), card("Requests, last hour", fmt.n(t.requests)),
    card("Latency p50 / p99", `${fmt.ms(t.p50Ms)} / ${fmt.ms(t.p99Ms)}`), card("Server errors", fmt.n(t.serverErrors))));
  view.append(el("h2", {}, "Silos"), table("Silos of the cluster", ["Silo", "Address", "Status", { label: "CPU", num: true },
    { label: "Memory", num: true }, "GPU", "Busiest operation"],
  health.silos.map(s => [s.name, s.address, s.status, s.liveResources ? `${fmt.n(s.liveResources.cpuPercent)}%` : "no recent sample",
    s.liveResources ? `${fmt.n(s.liveResources.memoryMb)} MB` : "–", s.liveResources?.gpuUtilization ?? "none",
    s.liveService?.operations?.[0] ? `${s.liveService.operations[0].operation} (${s.liveService.operations[0].perSecond}/s)` : "–"])));
  for (const silo of health.silos.filter(s => s.resources.length)) {
    const chart = el("div", { class: "chart" });
    view.append(chart);
    lineChart(chart, { title: `${silo.name}: CPU % (left) and memory, MB (right)`, xLabel: "time", time: true,
      x: silo.resources.map(r => Date.parse(r.start) / 1000), xRange: [Date.parse(health.from) / 1000, Date.parse(health.to) / 1000],
      series: [{ label: "CPU %", values: silo.resources.map(r => r.cpuPercent) },
        { label: "Memory MB", values: silo.resources.map(r => r.memoryMb), scale: "MB" }], height: 220 });
  }
  view.append(el("h2", {}, "Busiest tenants, last day"), table("Tenants by grain calls", ["Tenant", "Name", { label: "Grain calls", num: true },
    { label: "Predictions", num: true }, { label: "Metric points", num: true }],
  top.tenants.map(r => [r.tenantKey ? link(`#/t/${seg(r.tenantKey)}`, r.tenantKey) : r.tenantId, r.name ?? "–", fmt.n(r.grainCalls),
    fmt.n(r.predictions), fmt.n(r.metricPoints)])));
  view.append(el("h2", {}, "Busiest operations, last hour"), table("Operations", ["Service", "Operation", { label: "Requests", num: true },
    { label: "p50", num: true }, { label: "p99", num: true }, { label: "Errors", num: true }],
  service.operations.map(o => [o.service, o.operation, fmt.n(o.figures.requests), fmt.ms(o.figures.p50Ms), fmt.ms(o.figures.p99Ms),
    fmt.n(o.figures.serverErrors)])));
  view.append(el("h2", {}, "Tenants"), table("All tenants", ["Tenant", "Name", "Status", "Tier"],
    tenants.map(x => [link(`#/t/${seg(x.tenantKey)}`, x.tenantKey), x.name, x.status, x.subscriptionTier])));
}
