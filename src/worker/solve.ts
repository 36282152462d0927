// POST /v1/models/:name/solve in its three shapes:
//   JSON in, JSON out:      {"puzzle": ...} or {"puzzles": [...]}, optional max_steps / halt / budget_steps
//                           (streamed when it takes over a second, see jsonAnswer)
//   NDJSON in, NDJSON out:  one {"puzzle": ...} per line, one result line per input line, in order
//   JSON in, SSE out:       Accept: text/event-stream, one event per supervision step, then "result"
// A client that goes away (request.signal, or a write to it that fails) stops
// the work after the current supervision step.
import { TrmError } from "../errors.ts";
import { type EncodedPuzzle, type LoadedModel, type Progress, type Result, type SolveOptions, encodePuzzles, solveEncoded, solveOptions } from "../solver.ts";
import type { Config } from "./config.ts";
import { json, negotiate, parseJson, parseMediaType, readBody } from "./http.ts";
import { scheduled } from "./schedule.ts";

const encoder = new TextEncoder();
const NDJSON_TYPES = ["application/x-ndjson", "application/ndjson"];
const JSON_ANSWERS = ["application/json", "text/event-stream"];

/** A solve request, checked and encoded before any work starts. */
export interface SolveRequest {
  encoded: EncodedPuzzle[];
  single: boolean; // answer with "result" rather than "results"
  opts: SolveOptions;
}

/** The limits a solve request is held to (ARC's requests add their own, src/worker/arc.ts). */
export type Limits = Pick<Config, "maxBodyBytes" | "maxPuzzles" | "maxBudgetSteps" | "maxQueue">;

const PUZZLE_FIELDS = ["puzzle", "puzzles", "max_steps", "halt", "budget_steps", "detail"];

/**
 * {"puzzle"} or {"puzzles"} in the task's notation, with the common options;
 * `batch` is false for an NDJSON line, which holds one puzzle.
 */
function parseRequest(body: unknown, model: LoadedModel, config: Limits, batch: boolean): SolveRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new TrmError("bad_request", 'the body must be a JSON object with "puzzle" or "puzzles"', 400);
  const b = body as Record<string, unknown>;
  const unknownKeys = Object.keys(b).filter((k) => !PUZZLE_FIELDS.includes(k));
  if (unknownKeys.length) throw new TrmError("bad_request", `unknown field(s) ${unknownKeys.slice(0, 5).join(", ").slice(0, 200)}; expected puzzle or puzzles, max_steps, halt, budget_steps, detail`, 400);
  if (!batch && "puzzles" in b) throw new TrmError("bad_request", 'an NDJSON line holds one {"puzzle": ...}', 400);
  if (("puzzle" in b) === ("puzzles" in b)) throw new TrmError("bad_request", 'give exactly one of "puzzle" and "puzzles"', 400);
  const single = "puzzle" in b;
  const puzzles = single ? [b.puzzle] : b.puzzles;
  if (!Array.isArray(puzzles) || puzzles.length === 0) throw new TrmError("bad_request", '"puzzles" must be a non-empty array', 400);
  if (puzzles.length > config.maxPuzzles) throw tooMany(puzzles.length, config);
  const opts = solveOptions(b, model.config, config.maxBudgetSteps);
  // An NDJSON line's errors are prefixed with its line number instead.
  return { encoded: encodePuzzles(model, puzzles, (i) => (!batch ? "" : single ? "puzzle" : `puzzles[${i}]`)), single, opts };
}

function tooMany(count: number, config: Limits): TrmError {
  return new TrmError("too_many_puzzles", `${count} puzzles in one request; the limit is ${config.maxPuzzles}`, 413);
}

/** A result as the API shows it (also each line of a job's results). */
export function present(r: Progress | Result) {
  return {
    index: r.index,
    solution: r.answer.solution,
    steps: r.step,
    confidence: r.confidence,
    halted: r.halted,
    ...(r.answer.solved !== undefined ? { solved: r.answer.solved } : {}),
    ...(r.answer.check ? { check: r.answer.check } : {}),
    ...(r.cells ? { cells: r.cells } : {}),
    ...("timings" in r ? { stopped: r.stopped, truncated: r.truncated, timings: r.timings } : r.stopped ? { stopped: r.stopped } : {}),
  };
}

/** Which shape a request takes, from its Content-Type and Accept headers. */
export function shapeOf(request: Request): { body: "json" | "ndjson"; answer: string } {
  const header = request.headers.get("content-type");
  const type = header === null ? { type: "application/json", params: {} } : parseMediaType(header);
  const charset = type?.params.charset?.toLowerCase();
  if (type && charset !== undefined && charset !== "utf-8") throw new TrmError("unsupported_media_type", `the body must be UTF-8, got charset=${charset.slice(0, 40)}`, 415);
  const body = type && NDJSON_TYPES.includes(type.type) ? "ndjson" : type && /^application\/(?:[\w.+-]+\+)?json$/.test(type.type) ? "json" : undefined;
  if (!body) throw new TrmError("unsupported_media_type", "send Content-Type: application/json (one request) or application/x-ndjson (one puzzle per line)", 415);
  const offered = body === "ndjson" ? [type!.type] : JSON_ANSWERS;
  const answer = negotiate(request.headers.get("accept"), offered);
  if (!answer) throw new TrmError("not_acceptable", `this request answers ${offered.join(" or ")}; the Accept header allows neither`, 406);
  return { body, answer };
}

export async function solve(request: Request, requestId: string, model: LoadedModel, config: Limits): Promise<Response> {
  const shape = shapeOf(request);
  if (shape.body === "ndjson") return solveNdjson(request, model, config, shape.answer);
  const { encoded, single, opts } = parseRequest(parseJson(await readBody(request, config.maxBodyBytes)), model, config, true);
  const envelope = (results: Result[]) =>
    single ? { model: model.name, task: model.manifest.task, result: present(results[0]) } : { model: model.name, task: model.manifest.task, results: results.map(present) };

  if (shape.answer === "text/event-stream") {
    return stream("text/event-stream", request.signal, async (send, signal) => {
      try {
        const results = await scheduled(config.maxQueue, (turn) => solveEncoded(model, encoded, { ...opts, signal, turn }, (step, progress) => send(sse("step", { step, puzzles: progress.map(present) }))), signal);
        await send(sse("result", envelope(results)));
      } catch (e) {
        if (signal.aborted) throw e;
        await send(sse("error", { error: describeError(e) }));
      }
    });
  }
  return jsonAnswer(request, requestId, async (signal, beat) =>
    envelope(await scheduled(config.maxQueue, (turn) => solveEncoded(model, encoded, { ...opts, signal, turn: () => (beat(), turn()) }), signal)),
  );
}

/**
 * One line in, one line out, in input order; a bad line gets an error line
 * and the rest go on. The request's budget is shared by its lines.
 */
async function solveNdjson(request: Request, model: LoadedModel, config: Limits, type: string): Promise<Response> {
  const lines = (await readBody(request, config.maxBodyBytes)).split("\n").map((text, i) => ({ text: text.trim(), line: i + 1 })).filter((l) => l.text);
  if (lines.length === 0) throw new TrmError("bad_request", "the NDJSON body has no lines", 400);
  if (lines.length > config.maxPuzzles) throw tooMany(lines.length, config);
  return stream(type, request.signal, (send, signal) => scheduled(config.maxQueue, async (turn) => {
    let left = config.maxBudgetSteps;
    for (const { text, line } of lines) {
      let out: unknown;
      try {
        const { encoded, opts } = parseRequest(parseJson(text, `line ${line}`), model, config, false);
        const sequences = encoded[0].sequences.length;
        if (left < sequences) throw new TrmError("budget_exhausted", `line ${line}: the request's budget of ${config.maxBudgetSteps} steps is spent`, 422);
        const budget = Math.min(opts.budget ?? left, left);
        const [result] = await solveEncoded(model, encoded, { ...opts, budget, signal, turn });
        left -= result.step * sequences;
        out = { line, result: present(result) };
      } catch (e) {
        if (signal.aborted) throw e;
        out = { line, error: describeError(e, `line ${line}: `) };
      }
      await send(JSON.stringify(out) + "\n");
    }
  }, signal));
}

export function describeError(e: unknown, prefix = "") {
  if (e instanceof TrmError) return { code: e.code, message: e.message.startsWith(prefix) ? e.message : prefix + e.message };
  console.error("internal error", e);
  return { code: "internal", message: "internal error" };
}

export function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A response body written chunk by chunk; each `send` waits until the client
 * has taken the chunk. `signal` aborts when the client disconnects or cancels
 * the body, so the work writing it stops with it.
 */
function responseStream(clientSignal: AbortSignal) {
  const gone = new AbortController();
  const signal = AbortSignal.any([clientSignal, gone.signal]);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  writer.closed.catch(() => gone.abort());
  const send = async (chunk: string) => {
    if (signal.aborted) throw new TrmError("cancelled", "the client went away", 499);
    await writer.write(encoder.encode(chunk));
  };
  // Writes without waiting for the client to take it; a failed write still aborts `signal`.
  const push = (chunk: string) => void writer.write(encoder.encode(chunk)).catch(() => {});
  const end = (work: Promise<void>) =>
    work.then(
      () => writer.close(),
      () => writer.abort().catch(() => {}),
    );
  return { readable, signal, send, push, end };
}

/** A streamed response fed by `produce`, which stops when the client goes (see responseStream). */
export function stream(contentType: string, clientSignal: AbortSignal, produce: (send: (chunk: string) => Promise<void>, signal: AbortSignal) => Promise<void>): Response {
  const body = responseStream(clientSignal);
  body.end(produce(body.send, body.signal));
  return new Response(body.readable, { headers: { "content-type": `${contentType}; charset=utf-8`, "cache-control": "no-cache" } });
}

// How long a JSON answer may keep its client waiting with nothing sent. A
// client that hangs up is noticed by workerd only when the Worker writes to
// it: locally, request.signal never fires for a response not yet begun (plain
// workerd 2026-11-02, measured), so without a write the work would go on to
// the end. Work still running after this is answered as a stream (status 200
// then, a space before each supervision step, which JSON allows before a
// value, then the document); shorter work and every refusal, all decided
// before the first step, get an ordinary response with their own status.
export const JSON_STREAM_AFTER_MS = 1000;

const late = Symbol("late");

/**
 * The JSON answer `work` computes. `work` gets the signal to stop on and
 * `beat`, to call before each supervision step: once the answer is streamed,
 * it writes a space, so a client that went away stops the work (the step
 * does not wait for the client to take that byte). A failure after the
 * answer began is the document {"error": ...}.
 */
export async function jsonAnswer(request: Request, requestId: string, work: (signal: AbortSignal, beat: () => void) => Promise<unknown>): Promise<Response> {
  const body = responseStream(request.signal);
  let streaming = false;
  const done = work(body.signal, () => streaming && body.push(" "));
  done.catch(() => {}); // handled below, whichever way the answer goes
  let timer: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([done, new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), JSON_STREAM_AFTER_MS)))]).finally(() => clearTimeout(timer!));
  if (first !== late) return json(first);
  streaming = true;
  body.end(
    body.send(" ").then(() =>
      done.then(
        (answer) => body.send(JSON.stringify(answer)),
        (e) => {
          if (body.signal.aborted) throw e;
          return body.send(JSON.stringify({ error: { ...describeError(e), request_id: requestId } }));
        },
      ),
    ),
  );
  // Not compressed: an encoder in front would hold the spaces back, and the
  // hang-up with them (Cloudflare's front line compresses application/json
  // for clients that accept it, and the local runtime does as it does).
  return new Response(body.readable, { headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache, no-transform", "content-encoding": "identity" } });
}
