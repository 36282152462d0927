// HTTP plumbing: JSON responses, the error shape, bounded body reading, auth.
import { TrmError } from "../errors.ts";

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

// Seconds a client should wait before retrying: a 503 (model or configuration
// not usable) is worth retrying after an operator or a reload fixed it.
const RETRY_AFTER_503 = "30";

const MAX_MESSAGE = 500; // characters: an error never echoes a large input back

/** {"error": {"code", "message", "request_id"}} with the error's status; anything unexpected is a 500 without internals. */
export function errorResponse(e: unknown, requestId: string): Response {
  if (!(e instanceof TrmError)) {
    console.error("internal error", requestId, e);
    return json({ error: { code: "internal", message: "internal error", request_id: requestId } }, 500);
  }
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}...` : e.message;
  const headers: Record<string, string> = { ...e.headers };
  if (e.status === 401) headers["www-authenticate"] = 'Bearer realm="trm-worker"';
  if (e.status === 503) headers["retry-after"] ??= RETRY_AFTER_503;
  return json({ error: { code: e.code, message, request_id: requestId } }, e.status, headers);
}

const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The client's x-request-id when it is short and printable, else a fresh one. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given && SANE_ID.test(given) ? given : crypto.randomUUID();
}

export interface MediaType {
  type: string; // "type/subtype", lower case
  params: Record<string, string>; // names lower case
}

/** A media type per RFC 9110 §8.3.1: case-insensitive type and parameter names, optional quoted values. */
export function parseMediaType(text: string): MediaType | undefined {
  const [head, ...rest] = text.split(";");
  const type = head.trim().toLowerCase();
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+\/[a-z0-9!#$%&'*+.^_`|~-]+$/.test(type)) return undefined;
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return { type, params };
}

/**
 * The first of `offered` the client's Accept header prefers (RFC 9110 §12.5.1):
 * highest q, then the most specific matching range, then the server's order.
 * No header accepts anything; undefined means nothing offered is acceptable.
 */
export function negotiate(accept: string | null, offered: readonly string[]): string | undefined {
  if (accept === null || accept.trim() === "") return offered[0];
  const ranges = accept.split(",").flatMap((part) => {
    const m = parseMediaType(part.trim());
    if (!m) return [];
    const q = m.params.q === undefined ? 1 : Number(m.params.q);
    return Number.isFinite(q) && q >= 0 && q <= 1 ? [{ type: m.type, q }] : [];
  });
  let best: { type: string; q: number; specificity: number } | undefined;
  for (const type of offered) {
    let match: { q: number; specificity: number } | undefined;
    for (const r of ranges) {
      const specificity = r.type === type ? 2 : r.type === `${type.split("/")[0]}/*` ? 1 : r.type === "*/*" ? 0 : -1;
      if (specificity >= 0 && (!match || specificity > match.specificity)) match = { q: r.q, specificity };
    }
    if (match && match.q > 0 && (!best || match.q > best.q || (match.q === best.q && match.specificity > best.specificity))) best = { type, ...match };
  }
  return best?.type;
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

/** When a token is configured, every request must carry it as a bearer token (RFC 6750: the scheme is case-insensitive). */
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
