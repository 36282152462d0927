// The Worker: a thin HTTP shell around the engine (src/solver.ts). The
// playground page (page/) is served at / as static assets, before this code.
//   GET  /v1/models                 models in the bucket
//   GET  /v1/models/:name           one model's manifest and size
//   POST /v1/models/:name/solve     solve puzzles (JSON, NDJSON or SSE; see solve.ts)
//   /v1/jobs...                     batch jobs over Queues (see jobs/api.ts); the queue handler is their consumer
import { TrmError } from "../errors.ts";
import { preflight, withCors } from "./cors.ts";
import { checkAuth, errorResponse, json } from "./http.ts";
import { getModel, listModels, modelInfo } from "./models.ts";
import { type ArcLimits, solveArc } from "./arc.ts";
import { solve } from "./solve.ts";
import { jobsRoute } from "./jobs/api.ts";
import { consume } from "./jobs/consumer.ts";
import type { SliceMessage } from "./jobs/types.ts";

export { JobState } from "./jobs/state.ts";

export interface WorkerEnv extends Env {
  API_TOKEN?: string; // secret: when set, every /v1 request needs it as a bearer token
}

/** A positive number from [vars]; anything else is a configuration error, never "no limit". */
export function positiveVar(env: WorkerEnv, name: keyof Env): number {
  const value = Number((env as unknown as Record<string, unknown>)[name]);
  if (!Number.isFinite(value) || value <= 0) throw new TrmError("bad_configuration", `the Worker's ${String(name)} setting must be a positive number`, 503);
  return value;
}

function limits(env: WorkerEnv): ArcLimits {
  return {
    maxBodyBytes: positiveVar(env, "MAX_BODY_BYTES"),
    maxPuzzles: positiveVar(env, "MAX_PUZZLES"),
    cpuBudgetMs: positiveVar(env, "CPU_BUDGET_MS"),
    gflops: positiveVar(env, "CPU_GFLOPS"),
  };
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new TrmError("model_not_found", `no model named ${JSON.stringify(raw)}`, 404);
  }
}

async function route(request: Request, env: WorkerEnv): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (/^\/v1\/jobs(\/|$)/.test(pathname)) {
    checkAuth(request, env.API_TOKEN);
    return jobsRoute(request, env, pathname);
  }
  const match = /^\/v1\/models(?:\/([^/]+))?(\/solve)?\/?$/.exec(pathname);
  if (!match) throw new TrmError("not_found", `no route for ${pathname}`, 404);
  checkAuth(request, env.API_TOKEN);
  const [, rawName, solvePath] = match;
  const name = rawName === undefined ? undefined : decodeName(rawName);
  const allow = (method: string) => {
    if (request.method !== method) throw new TrmError("method_not_allowed", `${pathname} accepts ${method}`, 405);
  };
  if (name === undefined) {
    allow("GET");
    return json(await listModels(env.MODELS));
  }
  if (!solvePath) {
    allow("GET");
    return json(await modelInfo(env.MODELS, name));
  }
  allow("POST");
  const model = await getModel(env.MODELS, name);
  return model.manifest.task === "arc" ? solveArc(request, model, env.MODELS, limits(env)) : solve(request, model, limits(env));
}

export default {
  async fetch(request, env): Promise<Response> {
    const early = preflight(request, env.CORS_ORIGINS);
    if (early) return early;
    let response: Response;
    try {
      response = await route(request, env);
    } catch (e) {
      response = errorResponse(e);
    }
    return withCors(request, response, env.CORS_ORIGINS);
  },
  queue: consume,
} satisfies ExportedHandler<WorkerEnv, SliceMessage>;
