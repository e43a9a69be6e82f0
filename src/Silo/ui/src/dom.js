// Building DOM from data. Text is always set as text (never as HTML), so names a tenant chose cannot inject markup.

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A table with a caption, column headers and rows of cells (a cell is text, a node, or {value, num}). */
export function table(caption, headers, rows, empty = "Nothing yet.") {
  if (!rows.length) return el("p", { class: "muted" }, `${caption}: ${empty}`);
  return el("table", {},
    el("caption", { class: "muted caption" }, caption),
    el("thead", {}, el("tr", {}, headers.map(h => el("th", { scope: "col", class: h.num ? "num" : undefined }, h.label ?? h)))),
    el("tbody", {}, rows.map(row => el("tr", {}, row.map((cell, i) =>
      el("td", { class: headers[i]?.num ? "num" : undefined }, cell))))));
}

/** A figure card. */
export const card = (label, value, note) => el("div", { class: "card" }, el("div", { class: "muted" }, label), el("div", { class: "value" }, value),
  note ? el("div", { class: "muted" }, note) : null);

export const fmt = {
  n: (v) => v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 3 }),
  ms: (v) => v === null || v === undefined ? "–" : `${Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 })} ms`,
  time: (v) => v ? new Date(v).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–",
  bytes: (v) => { const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; let x = Number(v); while (x >= 1024 && i < 4) { x /= 1024; i++; } return `${x.toFixed(i ? 1 : 0)} ${units[i]}`; },
};
