// Packages the dashboard into dist/: our own files from src/, and uPlot's built files from node_modules (installed by
// `npm ci` from package-lock.json). The silo serves dist/ at /ui; nothing is fetched from a CDN at run time.
import { cpSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "vendor"), { recursive: true });
cpSync(join(here, "src"), dist, { recursive: true });
for (const file of ["uPlot.iife.min.js", "uPlot.min.css"]) {
  cpSync(join(here, "node_modules", "uplot", "dist", file), join(dist, "vendor", file));
}

// A version stamp of what was packaged, so a browser never mixes files of two builds (index.html asks for ?v=stamp).
const stamp = createHash("sha256");
for (const file of ["app.js", "pages.js", "charts.js", "api.js", "dom.js", "app.css"]) {
  stamp.update(readFileSync(join(dist, file)));
}
const version = stamp.digest("hex").slice(0, 12);
const index = join(dist, "index.html");
writeFileSync(index, readFileSync(index, "utf8").replaceAll("__VERSION__", version));
console.log(`dashboard packaged into ${dist} (version ${version})`);
