// Charts: uPlot (from npm, packaged at build time) for series, a small SVG layout for lineage graphs.
import { el } from "./dom.js";

const palette = ["#0b57d0", "#a40e26", "#116329", "#8a6d00", "#6f42c1", "#0a7f8c"];

/**
 * A line chart of x values and one or more y series, with an optional min/max band per series. Drag to zoom: onZoom
 * gets the selected x range so the caller can query that range again at full resolution.
 */
export function lineChart(container, { title, xLabel, x, series, time = false, onZoom, height = 300, xRange }) {
  container.replaceChildren();
  // A page is built before it is shown, so the container may not be laid out yet: then the main column's width counts.
  const available = container.clientWidth || document.getElementById("main")?.clientWidth - 40 || 900;
  const width = Math.max(320, Math.min(available, 1140) - 14);
  const data = [x];
  const uSeries = [{ label: xLabel }];
  const bands = [];
  series.forEach((s, i) => {
    const colour = palette[i % palette.length];
    if (s.min && s.max) {
      data.push(s.max, s.min);
      uSeries.push({ label: `${s.label} max`, stroke: colour + "55", width: 1 }, { label: `${s.label} min`, stroke: colour + "55", width: 1 });
      bands.push({ series: [data.length - 2, data.length - 1], fill: colour + "22" });
    }
    data.push(s.values);
    uSeries.push({ label: s.label, stroke: colour, width: 1.5, scale: s.scale ?? "y", points: { show: x.length < 60 } });
  });
  // A series with its own scale (memory beside CPU %) gets its own axis on the right.
  const extraScales = [...new Set(series.map(s => s.scale).filter(Boolean))];
  const options = {
    title, width, height, series: uSeries, bands,
    // A time window is shown whole even when only a few buckets have data, so one bucket is not stretched over years.
    scales: { x: { time, ...(xRange ? { range: () => xRange } : {}) } },
    axes: [{ label: xLabel }, {}, ...extraScales.map(scale => ({ scale, side: 1, label: scale, grid: { show: false } }))],
    cursor: { drag: { x: true, y: false } },
    hooks: onZoom ? {
      setSelect: [(u) => {
        if (u.select.width < 4) return;
        const from = u.posToVal(u.select.left, "x");
        const to = u.posToVal(u.select.left + u.select.width, "x");
        u.setSelect({ width: 0, height: 0 }, false);
        onZoom(from, to);
      }],
    } : {},
  };
  const plot = new window.uPlot(options, data, container);
  container.dataset.points = String(x.length);
  container.setAttribute("role", "img");
  container.setAttribute("aria-label", `${title}: ${x.length} points`);
  return plot;
}

/** A bar chart of counts (a histogram), drawn as SVG with a text equivalent for screen readers. */
export function barChart(container, { title, labels, values }) {
  const w = 560, h = 180, pad = 28, max = Math.max(1, ...values);
  const barWidth = (w - 2 * pad) / values.length;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": `${title}: ` +
    labels.map((l, i) => `${l} ${values[i]}`).join(", ") });
  values.forEach((v, i) => {
    const barHeight = (h - 2 * pad) * v / max;
    svg.append(svgEl("rect", { x: pad + i * barWidth + 2, y: h - pad - barHeight, width: barWidth - 4, height: barHeight, fill: "#0b57d0" }));
    svg.append(svgText(labels[i], pad + i * barWidth + barWidth / 2, h - pad + 14, "middle"));
  });
  container.replaceChildren(el("div", { class: "muted" }, title), svg);
}

/**
 * A lineage graph: every resource the links name, in columns by how many steps of lineage lie behind it (sources on the
 * left, what came from them to the right), edges as labelled curves. The focus, when linked, is highlighted. Small graphs (what one
 * model's lineage is), so a layered layout is enough.
 */
export function lineageGraph(container, { focus, links }) {
  const key = (type, id) => `${type}\u0000${id}`;
  // The focus is drawn when a link touches it (a model's versions may have lineage while the model has none yet).
  const nodes = new Map();
  for (const link of links) {
    for (const [type, id] of [[link.parentType, link.parentId], [link.resourceType, link.resourceId]]) {
      if (!nodes.has(key(type, id))) nodes.set(key(type, id), { type, id, column: 0 });
    }
  }
  // Longest path from a source; a cycle (which lineage should not have) stops after as many passes as there are nodes.
  for (let pass = 0, moved = true; moved && pass < nodes.size; pass++) {
    moved = false;
    for (const link of links) {
      const parent = nodes.get(key(link.parentType, link.parentId)), child = nodes.get(key(link.resourceType, link.resourceId));
      if (child.column < parent.column + 1) { child.column = parent.column + 1; moved = true; }
    }
  }
  const columns = [...new Set([...nodes.values()].map(n => n.column))].sort((a, b) => a - b);
  const nodeWidth = 190, nodeHeight = 44, gapX = 70, gapY = 18;
  const rows = new Map();
  for (const node of nodes.values()) {
    const row = rows.get(node.column) ?? 0;
    rows.set(node.column, row + 1);
    node.x = 10 + columns.indexOf(node.column) * (nodeWidth + gapX);
    node.y = 10 + row * (nodeHeight + gapY);
  }
  const width = 20 + columns.length * (nodeWidth + gapX) - gapX;
  const height = 20 + Math.max(...rows.values()) * (nodeHeight + gapY);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": `Lineage of ${focus.type} ${focus.id}: ${nodes.size} resources, ${links.length} links` });
  for (const link of links) {
    const from = nodes.get(key(link.parentType, link.parentId)), to = nodes.get(key(link.resourceType, link.resourceId));
    if (!from || !to) continue;
    const x1 = from.x + nodeWidth, y1 = from.y + nodeHeight / 2, x2 = to.x, y2 = to.y + nodeHeight / 2;
    svg.append(svgEl("path", { class: "edge", d: `M${x1},${y1} C${x1 + 35},${y1} ${x2 - 35},${y2} ${x2},${y2}` }));
    const label = svgText(link.transformation, (x1 + x2) / 2, (y1 + y2) / 2 - 4, "middle");
    label.setAttribute("class", "edge-label");
    svg.append(label);
  }
  for (const node of nodes.values()) {
    const isFocus = node.type === focus.type && node.id === focus.id;
    const group = svgEl("g", { class: isFocus ? "node focus" : "node", "data-type": node.type, "data-id": node.id });
    group.append(svgEl("rect", { x: node.x, y: node.y, width: nodeWidth, height: nodeHeight, rx: 6 }));
    group.append(svgText(node.type.replace("_", " "), node.x + 8, node.y + 16));
    group.append(svgText(shorten(node.id, 25), node.x + 8, node.y + 34));
    const title = svgEl("title", {});
    title.textContent = `${node.type}: ${node.id}`;
    group.append(title);
    svg.append(group);
  }
  container.replaceChildren(svg);
  container.dataset.nodes = String(nodes.size);
}

const shorten = (text, length) => text.length <= length ? text : text.slice(0, length - 1) + "…";

function svgEl(name, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  return node;
}

function svgText(text, x, y, anchor = "start") {
  const node = svgEl("text", { x, y, "text-anchor": anchor });
  node.textContent = text;
  return node;
}
