// HTTP plumbing: JSON responses, the error shape, bounded body reading, auth.
import { TrmError } from "../errors.ts";

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

/** {"error": {"code", "message"}} with the error's status; anything unexpected is a 500 without internals. */
export function errorResponse(e: unknown): Response {
  if (e instanceof TrmError) {
    const headers: HeadersInit = e.status === 401 ? { "www-authenticate": 'Bearer realm="trm-worker"' } : {};
    return json({ error: { code: e.code, message: e.message } }, e.status, headers);
  }
  console.error("internal error", e);
  return json({ error: { code: "internal", message: "internal error" } }, 500);
}

/** Reads the body, refusing (413) more than `limit` bytes whether or not Content-Length is sent. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new TrmError("body_too_large", `request body exceeds ${limit} bytes`, 413);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw tooLarge();
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
  } catch {
    throw new TrmError("bad_encoding", "request body is not valid UTF-8", 400);
  }
}

export function parseJson(text: string, what = "request body"): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TrmError("malformed_json", `${what} is not valid JSON: ${(e as Error).message}`, 400);
  }
}

/** When a token is configured, every request must carry it as a bearer token. */
export function checkAuth(request: Request, token: string | undefined): void {
  if (!token) return;
  const header = request.headers.get("authorization") ?? "";
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? "";
  if (!given) throw new TrmError("unauthorized", "this endpoint needs an Authorization: Bearer <API_TOKEN> header", 401);
  if (!sameString(given, token)) throw new TrmError("unauthorized", "the bearer token is not valid", 401);
}

/** Compares without an early exit, so the time taken does not reveal the matching prefix. */
function sameString(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
