// Requests to the Worker inside workerd and the checks every test file shares.
import { createExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import worker, { type WorkerEnv } from "../../src/worker/index.ts";

export const BASE = "http://trm.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The Worker with another environment (configuration), called directly. */
export function callWith(env: WorkerEnv, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(new Request(BASE + path, init), env, createExecutionContext());
}

export const solvePath = (model: string) => `/v1/models/${model}/solve`;

export interface ErrorBody {
  error: { code: string; message: string; request_id: string };
}

export async function expectError(res: Response | Promise<Response>, status: number, code: string, message?: RegExp): Promise<ErrorBody> {
  const r = await res;
  const body = (await r.json()) as ErrorBody;
  expect(r.status, JSON.stringify(body)).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/json");
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.request_id).toBe(r.headers.get("x-request-id"));
  if (message) expect(body.error.message).toMatch(message);
  return body;
}

export const text = async (r: Response) => new TextDecoder().decode(await r.arrayBuffer());

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests being solved in the isolate (solving or waiting for a turn), as /v1/health counts them. */
export const solving = async () => ((await (await call("/v1/health")).json()) as { solving: number }).solving;

/** Waits until `condition` holds; returns how long that took, or throws past `deadlineMs`. */
export async function until(condition: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await condition())) {
    if (performance.now() - t0 > deadlineMs) throw new Error(`condition not met within ${deadlineMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}
