// The playground page in a real headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core; nothing downloads a browser), loaded from a local
// Worker that serves the shipped packs from local R2 as `npm start` does.
// Screenshots and the measured times go to test/browser/artifacts/ (not committed).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, type Page, type Response as PageResponse, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestHarness } from "wrangler";
import { packFiles } from "../../src/engine/pack.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const ARTIFACTS = join(ROOT, "test/browser/artifacts");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const arcPuzzles: Record<string, { train: { input: number[][]; output: number[][] }[]; test: { input: number[][]; output: number[][] }[] }> = JSON.parse(readFileSync(join(ROOT, "weights/arc-parity/test_puzzles.json"), "utf8"));
const EULER_01 = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";

const harness = createTestHarness({ workers: [{ configPath: join(ROOT, "wrangler.toml") }] });
const profile = mkdtempSync(join(tmpdir(), "trm-chromium-"));
const measured: Record<string, number | number[]> = {};
let base = "";
let browser: BrowserContext;
let page: Page;
let consoleErrors: string[] = [];

/** Every pack in weights/ into the local bucket, as scripts/start.ts seeds it. */
async function seedShippedPacks(bucket: { put(key: string, value: string | Uint8Array): Promise<unknown> }): Promise<void> {
  for (const entry of readdirSync(join(ROOT, "weights"), { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const dir = join(ROOT, "weights", entry.name);
    const manifest = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    await bucket.put(`models/${entry.name}/model.json`, JSON.stringify(manifest));
    for (const file of packFiles(manifest)) await bucket.put(`models/${entry.name}/${file}`, new Uint8Array(readFileSync(join(dir, file))));
  }
}

/** The API's own JSON answer for an ARC task, to compare the page against. */
async function apiArc(body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/models/arc-parity/solve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** The API's own JSON answer for one puzzle, to compare the page against. */
async function apiSolve(model: string, puzzle: unknown, extra: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/models/${model}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzle, ...extra }) });
  return { status: res.status, body: await res.json() };
}

async function openPage(): Promise<void> {
  await page.goto(base);
  await page.waitForSelector("body[data-state=idle]");
}

async function choose(id: string, label: string): Promise<void> {
  await page.selectOption(`#${id}`, { label });
}

/** The board as text: digits for Sudoku, "# SGo" characters for a maze. */
function readBoard(): Promise<string> {
  return page.$$eval("#board .cell", (cells) =>
    cells.map((c) => {
      const kind = ["wall", "start", "goal", "path", "open"].find((k) => c.classList.contains(k));
      return kind ? { wall: "#", start: "S", goal: "G", path: "o", open: " " }[kind]! : c.textContent || "0";
    }).join(""),
  );
}

const outcome = (key: string) => page.textContent(`#outcome dd[data-key=${key}]`);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM to its path`);
  mkdirSync(ARTIFACTS, { recursive: true });
  base = (await harness.listen()).url.toString().replace(/\/$/, "");
  await seedShippedPacks(((await harness.getWorker().getEnv()) as { MODELS: Parameters<typeof seedShippedPacks>[0] }).MODELS);
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, viewport: { width: 1100, height: 900 } });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
}, 180_000);

afterAll(async () => {
  writeFileSync(join(ARTIFACTS, "timings.json"), JSON.stringify(measured, null, 2) + "\n");
  await browser?.close();
  await harness.close();
  rmSync(profile, { recursive: true, force: true });
});

describe("the playground page", () => {
  test("is served at / under a strict CSP and lists the models", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    expect((await fetch(`${base}/_headers`)).status).toBe(404); // the header rules themselves are not served
    consoleErrors = [];
    const responses: PageResponse[] = [];
    const collect = (r: PageResponse) => void responses.push(r);
    page.on("response", collect);
    await openPage();
    page.off("response", collect);
    // What Chromium transferred for the page itself (compressed bodies as sent), next to the API's model list.
    const files = responses.filter((r) => !new URL(r.url()).pathname.startsWith("/v1/"));
    expect(files.map((r) => new URL(r.url()).pathname).sort()).toEqual(["/", "/app.js", "/style.css"]);
    for (const r of files) measured[`page_transferred_bytes ${new URL(r.url()).pathname}`] = (await r.request().sizes()).responseBodySize;
    measured.page_transferred_bytes = files.reduce((sum, r) => sum + (measured[`page_transferred_bytes ${new URL(r.url()).pathname}`] as number), 0);
    expect(measured.page_transferred_bytes).toBeLessThan(100 * 1024);
    const options = await page.$$eval("#model option", (os) => os.map((o) => ({ text: o.textContent, disabled: (o as HTMLOptionElement).disabled })));
    expect(options).toContainEqual({ text: "sudoku", disabled: false });
    expect(options).toContainEqual({ text: "maze", disabled: false });
    expect(options).toContainEqual({ text: "arc-parity", disabled: false });
    expect(options).toContainEqual({ text: "tokens-parity (no view for task tokens)", disabled: true });
    expect(await page.inputValue("#model")).not.toBe("");
    expect(await page.textContent("#model-info")).toMatch(/task sudoku/);
    expect(consoleErrors).toEqual([]); // no CSP violation, no script error
  });

  test("solves a Sudoku step by step and ends on the API's answer", async () => {
    consoleErrors = [];
    await openPage();
    await choose("model", "sudoku");
    await page.fill("#task-input textarea", EULER_01);
    // Record every step counter the page shows, to see the animation happen.
    await page.evaluate(() => {
      const seen: string[] = ((window as any).stepsSeen = []);
      new MutationObserver(() => seen.push(document.getElementById("step")!.textContent!)).observe(document.getElementById("step")!, { childList: true, characterData: true, subtree: true });
    });
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]", { timeout: 120_000 });
    const seen: string[] = await page.evaluate(() => (window as any).stepsSeen);
    expect(seen).toContain("Step 1 of 16.");
    expect(seen).toContain("Step 16 of 16.");
    const api = await apiSolve("sudoku", EULER_01);
    expect(api.status).toBe(200);
    expect(await readBoard()).toBe(api.body.result.solution);
    expect(await outcome("solved")).toBe(api.body.result.check.valid ? "yes" : "no");
    expect(await page.textContent("#step")).toBe(`Step ${api.body.result.steps} of 16.`);
    expect(Number(await page.textContent("#halting-value"))).toBeCloseTo(api.body.result.confidence, 3);
    expect(await page.$$eval("#history span", (bars) => bars.length)).toBe(16); // one halting-confidence bar per step
    // Per-cell confidence arrives as shading on every blank cell.
    const shaded = await page.$$eval("#board .cell:not(.given)", (cells) => cells.filter((c) => (c as HTMLElement).style.getPropertyValue("--p") !== "").length);
    expect(shaded).toBe([...EULER_01].filter((c) => c === "0").length);
    measured.sudoku_click_to_final_step_ms_animated_first_solve = Number((await outcome("click-to-final"))!.replace(" ms", ""));
    await page.screenshot({ path: join(ARTIFACTS, "sudoku.png"), fullPage: true });

    // Without the animation's pause between steps: the time the solve itself takes, click to final step.
    await choose("delay", "none (as fast as it computes)");
    const ms = async (key: string) => Number((await outcome(key))!.replace(" ms", ""));
    const runs: number[] = [];
    const compute: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.click("#solve");
      await page.waitForSelector("body[data-state=done]");
      runs.push(await ms("click-to-final"));
      compute.push(await ms("compute"));
    }
    measured.sudoku_click_to_final_step_ms_runs = runs;
    measured.sudoku_server_compute_ms_runs = compute;
    measured.sudoku_click_to_final_step_ms_median = [...runs].sort((a, b) => a - b)[2];
    expect(await readBoard()).toBe(api.body.result.solution);
    expect(consoleErrors).toEqual([]);
  });

  test("max steps and the halting mode reach the API", async () => {
    await openPage();
    await choose("model", "sudoku");
    await choose("delay", "none (as fast as it computes)");
    await page.fill("#task-input textarea", EULER_01);
    await page.fill("#max-steps", "3");
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]");
    const three = await apiSolve("sudoku", EULER_01, { max_steps: 3 });
    expect(await page.textContent("#step")).toBe("Step 3 of 3.");
    expect(await readBoard()).toBe(three.body.result.solution);
    await page.fill("#max-steps", "16");
    await page.selectOption("#halt", "adaptive");
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]");
    const adaptive = await apiSolve("sudoku", EULER_01, { halt: "adaptive" });
    expect(adaptive.body.result.steps).toBeLessThan(16); // this easy puzzle halts early
    expect(await outcome("steps")).toBe(String(adaptive.body.result.steps));
    expect(await page.$$eval("#history span", (bars) => bars.length)).toBe(adaptive.body.result.steps);
    expect(await readBoard()).toBe(adaptive.body.result.solution);
    // "checked": stop at the first answer that passes the Sudoku check
    expect(await page.$eval("#halt option[value=checked]", (o) => (o as HTMLOptionElement).disabled)).toBe(false);
    await page.selectOption("#halt", "checked");
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]");
    const checked = await apiSolve("sudoku", EULER_01, { halt: "checked" });
    expect(checked.body.result.stopped).toBe("solved");
    expect(await outcome("steps")).toBe(String(checked.body.result.steps));
    expect(await page.$$eval("#history span", (bars) => bars.length)).toBe(checked.body.result.steps);
    expect(await readBoard()).toBe(checked.body.result.solution);
    expect(await outcome("solved")).toBe("yes");
  });

  test("ARC: picks a task, shows its demonstrations, solves it over SSE with the vote per step, and ends on the API's attempts", async () => {
    consoleErrors = [];
    await openPage();
    await choose("model", "arc-parity");
    await page.waitForSelector("body[data-state=idle] .demos[data-task]");
    expect(await page.$eval("#halt option[value=checked]", (o) => (o as HTMLOptionElement).disabled)).toBe(true); // ARC has no answer check
    const task = "1a2e2828";
    const puzzle = arcPuzzles[task];
    await page.selectOption("#task-input select", { label: `${task} (9 augmentations)` });
    await page.waitForSelector(`.demos[data-task="${task}"]`);
    // The demonstrations: every train pair's input and output, cell for cell, in the ARC colours.
    expect(await page.$$eval(".demos .pair figure", (f) => f.length)).toBe(2 * puzzle.train.length);
    const pairs = await page.$$eval(".demos .pair .grid", (grids) => grids.map((g) => [...g.children].map((c) => Number(c.textContent))));
    expect(pairs).toEqual(puzzle.train.flatMap((p) => [p.input.flat(), p.output.flat()]));
    const blue = await page.$eval(".demos .grid span.k1", (c) => getComputedStyle(c).backgroundColor);
    expect(blue).toBe("rgb(0, 116, 217)");
    expect(await page.$$eval(".demos .grid", (g) => g.every((x) => /colours by row: /.test(x.getAttribute("aria-label") ?? "")))).toBe(true);

    await page.getByLabel(/^Augmentations/).fill("3");
    await page.fill("#max-steps", "2");
    await choose("delay", "none (as fast as it computes)");
    // At every step the page shows, record the counter and the vote it shows with it.
    await page.evaluate(() => {
      const seen: { step: string; votes: number[] }[] = ((window as any).arcSeen = []);
      new MutationObserver(() =>
        seen.push({ step: document.getElementById("step")!.textContent!, votes: [...document.querySelectorAll("#board .vote li")].map((li) => Number(/^(\d+) vote/.exec(li.textContent!)![1])) }),
      ).observe(document.getElementById("step")!, { childList: true, characterData: true, subtree: true });
    });
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]", { timeout: 120_000 });
    const seen: { step: string; votes: number[] }[] = await page.evaluate(() => (window as any).arcSeen);
    // 3 augmented inputs in slices of 2 (one network batch at 916 positions): 2 steps of the first slice, then 2 of the second.
    const steps = seen.filter((s) => !s.step.startsWith("No steps"));
    expect(steps.slice(0, 4).map((s) => s.step)).toEqual(["Step 1 of 2. Slice 1 of 2 of the augmented inputs.", "Step 2 of 2. Slice 1 of 2 of the augmented inputs.", "Step 1 of 2. Slice 2 of 2 of the augmented inputs.", "Step 2 of 2. Slice 2 of 2 of the augmented inputs."]);
    expect(steps.slice(0, 4).map((s) => s.votes.reduce((a, b) => a + b, 0))).toEqual([2, 2, 3, 3]); // the vote grows with each slice
    const api = await apiArc({ task, test: puzzle.test.map((t) => ({ input: t.input })), augmentations: 3, max_steps: 2, halt: "fixed" });
    expect(api.status).toBe(200);
    const shown = (caption: string) => page.$$eval(`#board figure`, (figs, c) => figs.filter((f) => f.querySelector("figcaption")!.textContent!.startsWith(c)).map((f) => { const g = f.querySelector(".grid")!; const cols = Number((g as HTMLElement).style.getPropertyValue("--cols")); const cells = [...g.children].map((x) => Number(x.textContent)); return Array.from({ length: cells.length / cols }, (_, r) => cells.slice(r * cols, (r + 1) * cols)); }), caption);
    const result = api.body.result;
    expect(await shown("attempt 1")).toEqual(result.tests.map((t: any) => t.attempt_1));
    expect(await shown("attempt 2")).toEqual(result.tests.map((t: any) => t.attempt_2));
    expect(await shown("expected output")).toEqual(puzzle.test.map((t) => t.output));
    expect(await page.$$eval("#board .vote li", (li) => li.map((x) => Number(/^(\d+) vote/.exec(x.textContent!)![1])))).toEqual(result.tests[0].candidates.map((c: any) => c.votes));
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const hits = result.tests.filter((t: any, i: number) => same(t.attempt_1, puzzle.test[i].output) || same(t.attempt_2, puzzle.test[i].output)).length;
    expect(await outcome("pass2")).toBe(`${hits} of ${puzzle.test.length} test input${puzzle.test.length > 1 ? "s" : ""} (attempt 1 or 2 matches the expected output)`);
    expect(await outcome("augmentations")).toBe("3 (3 augmented inputs voted)");
    expect(await outcome("steps")).toBe("2");
    measured.arc_click_to_final_step_ms = Number((await outcome("click-to-final"))!.replace(" ms", ""));
    await page.screenshot({ path: join(ARTIFACTS, "arc.png"), fullPage: true });
    await page.locator("section[aria-labelledby=run-heading]").screenshot({ path: join(ARTIFACTS, "arc-panel.png") }); // docs/playground-arc.png
    expect(consoleErrors).toEqual([]);
  });

  test("solves a maze and ends on the API's answer", async () => {
    consoleErrors = [];
    await openPage();
    await choose("model", "maze");
    await choose("delay", "none (as fast as it computes)");
    const puzzle = (await page.inputValue("#task-input textarea")).split("\n");
    expect(puzzle).toHaveLength(9);
    await page.click("#solve");
    await page.waitForSelector("body[data-state=done]", { timeout: 120_000 });
    const api = await apiSolve("maze", puzzle);
    expect(api.status).toBe(200);
    expect(await readBoard()).toBe(api.body.result.solution.join(""));
    expect(await outcome("check-shortest")).toBe(api.body.result.check.shortest ? "yes" : "no");
    measured.maze_click_to_final_step_ms = Number((await outcome("click-to-final"))!.replace(" ms", ""));
    // Every row of the board is drawn at the same height, walls or not.
    const heights = await page.$$eval("#board .row", (rows) => rows.map((r) => Math.round(r.getBoundingClientRect().height)));
    expect(new Set(heights).size).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "maze.png"), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  test("a bad puzzle shows the API's error message (solved from the keyboard)", async () => {
    await openPage();
    await choose("model", "sudoku");
    await page.fill("#task-input textarea", "12");
    await page.focus("#solve");
    await page.keyboard.press("Enter");
    await page.waitForSelector("body[data-state=error]");
    const api = await apiSolve("sudoku", "12");
    expect(api.status).toBe(422);
    expect(await page.textContent("#error")).toBe(`${api.body.error.message} (${api.body.error.code}, HTTP 422)`);
    await page.screenshot({ path: join(ARTIFACTS, "bad-puzzle.png"), fullPage: true });
  });

  test("Stop ends a run between steps", async () => {
    await openPage();
    await choose("model", "sudoku");
    await choose("delay", "slow (0.5 s a step)");
    await page.click("#solve");
    await page.waitForFunction(() => document.getElementById("step")!.textContent === "Step 1 of 16.");
    expect(await page.textContent("#solve")).toBe("Stop");
    await page.click("#solve");
    await page.waitForSelector("body[data-state=error]");
    expect(await page.textContent("#error")).toBe("Stopped.");
    expect(await page.textContent("#solve")).toBe("Solve");
    expect(await page.textContent("#step")).not.toBe("Step 16 of 16.");
  });

  test("fits a phone-sized screen without sideways scrolling", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await openPage();
    await page.screenshot({ path: join(ARTIFACTS, "phone.png"), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await choose("model", "arc-parity"); // demonstrations and grids wrap too
    await page.waitForSelector("body[data-state=idle] .demos[data-task]");
    await page.screenshot({ path: join(ARTIFACTS, "phone-arc.png"), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1100, height: 900 });
  });
});
