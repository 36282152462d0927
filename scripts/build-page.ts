// Builds the playground (page/) into build/page, the Worker's static assets:
// page/main.ts bundled and minified into app.js, next to the page's static files.
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "build/page");
const STATIC = ["index.html", "style.css", "_headers"];

mkdirSync(OUT, { recursive: true });
await build({ entryPoints: [join(ROOT, "page/main.ts")], outfile: join(OUT, "app.js"), bundle: true, minify: true, format: "esm", target: "es2022", logLevel: "warning" });
for (const file of STATIC) copyFileSync(join(ROOT, "page", file), join(OUT, file));

// What a browser transfers for the page (every file but _headers), raw and gzipped.
const files = readdirSync(OUT).filter((f) => f !== "_headers");
const bytes = files.map((f) => readFileSync(join(OUT, f)));
const kib = (n: number) => (n / 1024).toFixed(1);
console.log(`page: ${files.join(", ")}: ${kib(bytes.reduce((s, b) => s + b.length, 0))} KiB, ${kib(bytes.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0))} KiB gzipped`);
