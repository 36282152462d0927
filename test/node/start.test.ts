// `npm start` (scripts/start.ts) for real: with API_TOKEN in the vars file it
// uses the token for its probe and example; a busy port is reported; and
// no wrangler or workerd process outlives it, whichever way it ends.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { REPO } from "./helpers.ts";

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

function start(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(REPO, "scripts/start.ts")], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((done) => child.on("exit", (code, signal) => done(code ?? (signal ? 128 : null))));
  return { child, output: () => out, exited };
}

async function waitFor(what: () => boolean, ms: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const listening = (port: number) => fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);

/** Whether nothing answers on the port any more, within 10 s. */
async function freed(port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await listening(port))) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function varsFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "trm-start-")), "dev.vars");
  writeFileSync(path, text);
  return path;
}

describe("npm start", () => {
  test("with API_TOKEN it probes and shows the example with the token; SIGTERM leaves nothing behind", async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), TRM_DEV_VARS: varsFile('API_TOKEN="start-test-token"\n') });
    await waitFor(() => run.output().includes("Ctrl-C stops the Worker."), 150_000, run.output);
    const out = run.output();
    expect(out).toContain("API_TOKEN is set");
    expect(out).toContain("authorization: Bearer start-test-token");
    expect(out).toContain("It answered (HTTP 200)");
    expect(out).toContain('"valid": true');
    expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(401); // the token really is in force
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(143);
    expect(await freed(port), "wrangler dev still answers on the port after npm start ended").toBe(true);
  }, 200_000);

  test("a Worker that never gets ready: the reason, exit 1, and nothing left on the port", async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), TRM_DEV_VARS: varsFile('API_TOKEN="start-test-token"\nMAX_PUZZLES="lots"\n') });
    try {
      const code = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r("still running"), 170_000))]);
      expect.soft(code, run.output()).toBe(1);
      expect.soft(run.output()).toMatch(/the Worker is misconfigured: .*MAX_PUZZLES/);
      expect(await freed(port), "wrangler dev still answers on the port after npm start ended").toBe(true);
    } finally {
      run.child.kill("SIGTERM");
    }
  }, 200_000);

  test("a busy port is reported by name, and nothing is started", async () => {
    const port = await freePort();
    const server: Server = await new Promise((done) => {
      const s = createServer((c) => c.end()).listen(port, "127.0.0.1", () => done(s));
    });
    try {
      const run = start({ PORT: String(port) });
      expect(await run.exited).toBe(1);
      expect(run.output()).toMatch(new RegExp(`port ${port} is already in use`));
    } finally {
      server.close();
    }
  }, 60_000);
});
