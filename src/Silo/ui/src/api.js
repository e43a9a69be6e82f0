// The API client of the dashboard. The API key lives in sessionStorage only: it is gone when the tab closes, it is
// never written into a URL (so it reaches no history, log or Referer), and it is sent as a bearer token.
const KeyName = "phantom.apiKey";

export const session = {
  get key() { return sessionStorage.getItem(KeyName); },
  signIn(key) { sessionStorage.setItem(KeyName, key); },
  signOut() { sessionStorage.removeItem(KeyName); sessionStorage.removeItem("phantom.me"); },
  get me() { const me = sessionStorage.getItem("phantom.me"); return me ? JSON.parse(me) : null; },
  set me(value) { sessionStorage.setItem("phantom.me", JSON.stringify(value)); },
};

/** An answer of the API other than 2xx, with its ProblemDetails. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** GET (or another method with a JSON body) under /api/v1, authenticated with the session's key. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${session.key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** Builds a query string from an object, leaving out empty values. */
export function query(values) {
  const pairs = Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? "?" + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&") : "";
}

/** A path segment, encoded (names may hold characters that mean something in a URL). */
export const seg = (value) => encodeURIComponent(value);
