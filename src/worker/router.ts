// A small router: one line per route, `:name` segments as parameters.
//   router.get("/v1/models/:name", handler)
// It answers what every route shares: 404 for unknown paths, 405 with Allow
// for a wrong method, HEAD as GET without a body, OPTIONS with Allow.
import { TrmError } from "../errors.ts";
import type { Config, WorkerEnv } from "./config.ts";

export interface RouteContext {
  request: Request;
  env: WorkerEnv;
  ctx: ExecutionContext;
  config: Config;
  url: URL;
  params: Record<string, string>;
  requestId: string;
}

export type Handler = (c: RouteContext) => Response | Promise<Response>;

interface Route {
  method: string;
  segments: string[]; // "v1", "models", ":name", ...
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split("/").filter(Boolean), handler });
    return this;
  }
  get(pattern: string, handler: Handler): this {
    return this.on("GET", pattern, handler);
  }
  post(pattern: string, handler: Handler): this {
    return this.on("POST", pattern, handler);
  }

  /** Every route as "METHOD /path/:param" (the root listing and the OpenAPI test use it). */
  list(): string[] {
    return this.routes.map((r) => `${r.method} /${r.segments.join("/")}`);
  }

  /**
   * The handler for this method and path, with the path's parameters. An
   * unknown path is a 404, a wrong method a 405 listing Allow; HEAD runs the
   * GET handler (the caller drops the body) and OPTIONS answers Allow.
   */
  resolve(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
    const parts = pathname.split("/").filter(Boolean);
    const found = this.routes.flatMap((route) => {
      const params = matchSegments(route.segments, parts);
      return params ? [{ route, params }] : [];
    });
    if (found.length === 0) throw new TrmError("not_found", `no route for ${pathname.length > 200 ? `${pathname.slice(0, 200)}...` : pathname}`, 404);
    const hit = found.find((f) => f.route.method === (method === "HEAD" ? "GET" : method));
    if (hit) return { handler: hit.route.handler, params: hit.params };
    const methods = [...new Set(found.map((f) => f.route.method))];
    const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
    if (method === "OPTIONS") return { handler: () => new Response(null, { status: 204, headers: { allow } }), params: {} };
    throw new TrmError("method_not_allowed", `${pathname} accepts ${allow}`, 405, { allow });
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(":")) {
      try {
        params[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        params[pattern[i].slice(1)] = parts[i]; // a malformed %-escape: the handler refuses the raw name
      }
    } else if (pattern[i] !== parts[i]) {
      return undefined;
    }
  }
  return params;
}
