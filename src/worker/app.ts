// The routes, and what every request goes through: a request id, the checked
// configuration, then for /v1 the per-client rate limit and the bearer token.
// A route is one line here; its handler lives with its subject.
import { TrmError } from "../errors.ts";
import { type Config, type WorkerEnv, configOf } from "./config.ts";
import { checkAuth, errorResponse, json, requestIdOf } from "./http.ts";
import { getModel, health, listModels, modelInfo } from "./models.ts";
import { OPENAPI } from "./openapi.ts";
import { Router } from "./router.ts";
import { solveArc } from "./arc.ts";
import { preflight, withCors } from "./cors.ts";
import { solve } from "./solve.ts";
import { listTasks, taskInfo } from "./tasks.ts";
import { jobsRoute } from "./jobs/api.ts";
import type { JobsEnv } from "./jobs/types.ts";

// "/" is the playground page, served as static assets before the Worker runs (wrangler.toml [assets]).
export const router: Router = new Router()
  .get("/openapi.json", () => json(OPENAPI))
  .get("/v1/health", async ({ env, requestId }) => {
    const report = await health(env.MODELS);
    if (report.ok) return json(report);
    return json({ error: { code: "unhealthy", message: "a health check failed; see checks", request_id: requestId }, checks: report }, 503, { "retry-after": "30" });
  })
  .get("/v1/models", async ({ env }) => json(await listModels(env.MODELS)))
  .get("/v1/models/:name", async ({ env, params }) => json(await modelInfo(env.MODELS, params.name)))
  // an ARC pack's tasks (src/worker/tasks.ts)
  .get("/v1/models/:name/tasks", async ({ env, params, url }) => json(await listTasks(env.MODELS, params.name, url)))
  .get("/v1/models/:name/tasks/:task", async ({ env, params }) => json(await taskInfo(env.MODELS, params.name, params.task)))
  .post("/v1/models/:name/solve", async ({ request, env, config, params, requestId }) => {
    const model = await getModel(env.MODELS, params.name);
    return model.manifest.task === "arc" ? solveArc(request, requestId, model, env.MODELS, config) : solve(request, requestId, model, config);
  })
  // batch jobs (src/worker/jobs/api.ts)
  .post("/v1/jobs", ({ request, env, url }) => jobsRoute(request, env as JobsEnv, url.pathname))
  .get("/v1/jobs/:id", ({ request, env, url }) => jobsRoute(request, env as JobsEnv, url.pathname))
  .on("DELETE", "/v1/jobs/:id", ({ request, env, url }) => jobsRoute(request, env as JobsEnv, url.pathname))
  .get("/v1/jobs/:id/:part", ({ request, env, url }) => jobsRoute(request, env as JobsEnv, url.pathname));

// Retry-After for a 429: the longest period a rate-limiting binding can have (10 or 60 s).
const RATE_LIMIT_RETRY_S = "60";

async function guard(request: Request, config: Config): Promise<void> {
  if (config.rateLimiter) {
    // Cloudflare sets CF-Connecting-IP at its edge; a client cannot choose it there.
    const key = request.headers.get("cf-connecting-ip") ?? "unknown";
    const { success } = await config.rateLimiter.limit({ key });
    if (!success) throw new TrmError("rate_limited", `too many requests from this client; retry in ${RATE_LIMIT_RETRY_S} s`, 429, { "retry-after": RATE_LIMIT_RETRY_S });
  }
  checkAuth(request, config.apiToken);
}

export async function handle(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
  const requestId = requestIdOf(request);
  let response: Response;
  try {
    const early = preflight(request, env.CORS_ORIGINS); // a CORS preflight, answered before routing
    if (early) return stamp(early, requestId);
    const url = new URL(request.url);
    const { handler, params } = router.resolve(request.method, url.pathname);
    const config = configOf(env);
    if (url.pathname.startsWith("/v1/") && request.method !== "OPTIONS") await guard(request, config);
    response = await handler({ request, env, ctx, config, url, params, requestId });
  } catch (e) {
    response = errorResponse(e, requestId);
  }
  if (request.method === "HEAD") {
    await response.body?.cancel();
    response = new Response(null, response);
  }
  return stamp(withCors(request, response, env.CORS_ORIGINS), requestId);
}

function stamp(response: Response, requestId: string): Response {
  const out = new Response(response.body, response);
  out.headers.set("x-request-id", requestId);
  return out;
}
