// The Worker's configuration, parsed and checked once per environment. A
// missing or malformed value is a configuration error (503 naming the
// variable) on every request: a limit never silently becomes "no limit".
import { TrmError, preview } from "../errors.ts";

export interface WorkerEnv {
  MODELS: R2Bucket;
  MAX_BODY_BYTES?: unknown;
  MAX_PUZZLES?: unknown;
  MAX_BUDGET_STEPS?: unknown;
  MAX_QUEUE?: unknown;
  CPU_BUDGET_MS?: unknown;
  CPU_GFLOPS?: unknown;
  RATE_LIMIT?: unknown;
  RATE_LIMITER?: RateLimit;
  CORS_ORIGINS?: string; // read by cors.ts: allowed browser origins, comma-separated, or "*"
  API_TOKEN?: string; // secret: when set, every /v1 request needs it as a bearer token
}

export interface Config {
  maxBodyBytes: number;
  maxPuzzles: number;
  maxBudgetSteps: number;
  maxQueue: number;
  cpuBudgetMs: number; // ARC work estimated above this is refused (src/worker/arc.ts)
  gflops: number; // the CPU rate that estimate assumes
  rateLimiter?: RateLimit; // undefined when RATE_LIMIT = "off"
  apiToken?: string;
}

const parsed = new WeakMap<object, Config | TrmError>();

function misconfigured(message: string): TrmError {
  return new TrmError("misconfigured", `server configuration error: ${message}`, 503);
}

type NumericVar = "MAX_BODY_BYTES" | "MAX_PUZZLES" | "MAX_BUDGET_STEPS" | "MAX_QUEUE" | "CPU_BUDGET_MS" | "CPU_GFLOPS";

/** A number above 0 and at most max (whole unless `fraction`), from wrangler.toml (a number) or a dashboard / .dev.vars value (a string). */
function positive(env: WorkerEnv, name: NumericVar, max: number, fraction = false): number {
  const raw = env[name];
  if (raw === undefined || raw === "") throw misconfigured(`${name} is not set`);
  const value = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  const ok = Number.isFinite(value) && value > 0 && value <= max && (fraction || Number.isSafeInteger(value));
  if (!ok) throw misconfigured(`${name} must be ${fraction ? "a number above 0" : "a whole number from 1"} to ${max}, got ${preview(raw, 40)}`);
  return value;
}

function read(env: WorkerEnv): Config {
  const rateLimit = env.RATE_LIMIT;
  if (rateLimit !== "on" && rateLimit !== "off") throw misconfigured(`RATE_LIMIT must be "on" or "off", got ${preview(rateLimit, 40)}`);
  if (rateLimit === "on" && typeof env.RATE_LIMITER?.limit !== "function") throw misconfigured('RATE_LIMIT is "on" but the RATE_LIMITER rate-limiting binding is missing');
  if (typeof env.MODELS?.get !== "function") throw misconfigured("the MODELS R2 bucket binding is missing");
  if (env.API_TOKEN !== undefined && (typeof env.API_TOKEN !== "string" || env.API_TOKEN.trim() === "")) throw misconfigured("API_TOKEN is set but empty");
  return {
    maxBodyBytes: positive(env, "MAX_BODY_BYTES", 100 * 1024 * 1024), // Workers accept at most 100 MB bodies
    maxPuzzles: positive(env, "MAX_PUZZLES", 10_000),
    maxBudgetSteps: positive(env, "MAX_BUDGET_STEPS", 10_000_000),
    maxQueue: positive(env, "MAX_QUEUE", 100_000),
    cpuBudgetMs: positive(env, "CPU_BUDGET_MS", 300_000), // the most a Worker request may use (limits.cpu_ms)
    gflops: positive(env, "CPU_GFLOPS", 10_000, true),
    rateLimiter: rateLimit === "on" ? env.RATE_LIMITER : undefined,
    apiToken: env.API_TOKEN,
  };
}

/** The checked configuration of this environment; throws the same configuration error every time. */
export function configOf(env: WorkerEnv): Config {
  let config = parsed.get(env);
  if (!config) {
    try {
      config = read(env);
    } catch (e) {
      if (!(e instanceof TrmError)) throw e;
      config = e;
    }
    parsed.set(env, config);
  }
  if (config instanceof TrmError) throw config;
  return config;
}
