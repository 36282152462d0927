// CORS for browser apps on other origins. CORS_ORIGINS ([vars]) lists the
// allowed origins, comma-separated ("https://a.example,https://b.example"),
// or "*" for any; empty (the default) allows none, so only same-origin pages
// (the playground served with the Worker) can read the API's answers.
import { TrmError } from "../errors.ts";

const ALLOW_HEADERS = "authorization, content-type, accept";
const ALLOW_METHODS = "GET, POST, OPTIONS";

function allowedOrigin(origin: string | null, setting: string | undefined): string | undefined {
  if (!origin) return undefined;
  const allowed = (setting ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  if (allowed.includes("*")) return "*";
  return allowed.includes(origin) ? origin : undefined;
}

/** The answer to a preflight (OPTIONS with Access-Control-Request-Method), or undefined for any other request; throws 403 for an origin not allowed. */
export function preflight(request: Request, setting: string | undefined): Response | undefined {
  if (request.method !== "OPTIONS" || !request.headers.has("access-control-request-method")) return undefined;
  const origin = request.headers.get("origin");
  const allow = allowedOrigin(origin, setting);
  if (!allow) {
    throw new TrmError("origin_not_allowed", `cross-origin requests from ${JSON.stringify(origin)} are not allowed; list the origin in CORS_ORIGINS`, 403);
  }
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": allow,
      "access-control-allow-methods": ALLOW_METHODS,
      "access-control-allow-headers": ALLOW_HEADERS,
      "access-control-max-age": "86400",
      vary: "Origin",
    },
  });
}

/** The response with Access-Control-Allow-Origin when the request's origin is allowed (streams pass through). */
export function withCors(request: Request, response: Response, setting: string | undefined): Response {
  const allow = allowedOrigin(request.headers.get("origin"), setting);
  if (!allow) return response;
  const out = new Response(response.body, response);
  out.headers.set("access-control-allow-origin", allow);
  out.headers.append("vary", "Origin");
  return out;
}
