// The dashboard's shell: sign-in, navigation and a hash router (#/t/{tenant}/models/{name} ...). Pages are in pages.js.
import { api, session, ApiError } from "./api.js";
import { el } from "./dom.js";
import * as pages from "./pages.js";

const main = document.getElementById("main");

// Routes: a pattern of path segments (":name" captures one) and the page that shows it.
const routes = [
  ["signin", pages.signIn],
  ["", pages.home],
  ["platform", pages.platform],
  ["t/:tenant", pages.overview],
  ["t/:tenant/models/:model", pages.model],
  ["t/:tenant/jobs/:job", pages.job],
  ["t/:tenant/inference", pages.inference],
  ["t/:tenant/agents", pages.agents],
  ["t/:tenant/audit", pages.audit],
];

function match(path) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const [pattern, page] of routes) {
    const expected = pattern.split("/").filter(Boolean);
    if (expected.length !== parts.length) continue;
    const params = {};
    if (expected.every((p, i) => p.startsWith(":") ? (params[p.slice(1)] = parts[i], true) : p === parts[i])) return { page, params };
  }
  return null;
}

let generation = 0;

/** Shows the page of the current hash; a page that finishes after the user moved on is dropped. */
async function render() {
  const mine = ++generation;
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  if (!session.key && path !== "signin") {
    location.replace("#/signin");
    return;
  }

  renderChrome(path);
  const found = match(path);
  const view = el("div");
  try {
    if (!found) throw new ApiError(404, { detail: "No such page." });
    if (session.key && !session.me) session.me = await api("/me");
    await found.page(view, found.params, () => mine === generation);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.signOut();
      location.replace("#/signin");
      return;
    }
    view.replaceChildren(el("h1", {}, error.status === 404 ? "Not found" : error.status === 403 ? "Not allowed" : "Something went wrong"),
      el("p", { class: "error", role: "alert" }, error.message));
  }
  if (mine !== generation) return;
  main.replaceChildren(view);
  document.title = `${view.querySelector("h1")?.textContent ?? "Phantom ML"} · Phantom ML`;
  main.focus({ preventScroll: true });
}

function renderChrome(path) {
  const me = session.me;
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!session.key || !me) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  const tenant = path.startsWith("t/") ? decodeURIComponent(path.split("/")[1]) : me.tenantKey;
  const links = [];
  if (tenant) {
    links.push(["Overview", `t/${encodeURIComponent(tenant)}`], ["Inference", `t/${encodeURIComponent(tenant)}/inference`],
      ["Agents", `t/${encodeURIComponent(tenant)}/agents`], ["Audit", `t/${encodeURIComponent(tenant)}/audit`]);
  }
  if (me.roles.includes("platform-admin")) links.push(["Platform", "platform"]);
  nav.replaceChildren(...links.map(([label, target]) =>
    el("a", { href: `#/${target}`, "aria-current": path === target ? "page" : undefined }, label)));
  who.replaceChildren(`${me.userId}${me.tenantKey ? ` · ${me.tenantKey}` : ""} `,
    el("button", { class: "secondary", type: "button", onclick: () => { session.signOut(); location.hash = "#/signin"; } }, "Sign out"));
}

window.addEventListener("hashchange", render);
render();
