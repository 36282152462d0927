// POST /v1/models/:name/solve in its three shapes:
//   JSON in, JSON out:      {"puzzle": ...} or {"puzzles": [...]}, optional max_steps / halt
//   NDJSON in, NDJSON out:  one {"puzzle": ...} per line, one result line per input line, in order
//   JSON in, SSE out:       Accept: text/event-stream, one event per supervision step, then "result"
import { TrmError } from "../errors.ts";
import { type LoadedModel, type Progress, type Result, type SolveOptions, encodePuzzles, solveEncoded, solveOptions } from "../solver.ts";
import { json, parseJson, readBody } from "./http.ts";

export interface Limits {
  maxBodyBytes: number;
  maxPuzzles: number;
}

const encoder = new TextEncoder();

function tooMany(count: number, limits: Limits): TrmError {
  return new TrmError("too_many_puzzles", `${count} puzzles in one request; the limit is ${limits.maxPuzzles}`, 413);
}

/** The puzzles and options of a JSON body; everything is checked before any work starts. */
function parseSolveBody(body: unknown, model: LoadedModel, limits: Limits, batchAllowed = true): { puzzles: unknown[]; single: boolean; opts: SolveOptions } {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new TrmError("bad_request", 'the body must be a JSON object with "puzzle" or "puzzles"', 400);
  const b = body as Record<string, unknown>;
  const unknownKeys = Object.keys(b).filter((k) => !["puzzle", "puzzles", "max_steps", "halt", "detail"].includes(k));
  if (unknownKeys.length) throw new TrmError("bad_request", `unknown field(s) ${unknownKeys.join(", ")}; expected puzzle or puzzles, max_steps, halt, detail`, 400);
  if (!batchAllowed && "puzzles" in b) throw new TrmError("bad_request", 'an NDJSON line holds one {"puzzle": ...}', 400);
  if (("puzzle" in b) === ("puzzles" in b)) throw new TrmError("bad_request", 'give exactly one of "puzzle" and "puzzles"', 400);
  const single = "puzzle" in b;
  const puzzles = single ? [b.puzzle] : b.puzzles;
  if (!Array.isArray(puzzles) || puzzles.length === 0) throw new TrmError("bad_request", '"puzzles" must be a non-empty array', 400);
  if (puzzles.length > limits.maxPuzzles) throw tooMany(puzzles.length, limits);
  return { puzzles, single, opts: solveOptions(b, model.config) };
}

/** A result as the API shows it (also each line of a job's results). */
export function present(r: Progress | Result) {
  return {
    index: r.index,
    solution: r.answer.solution,
    steps: r.step,
    confidence: r.confidence,
    halted: r.halted,
    ...(r.answer.check ? { check: r.answer.check } : {}),
    ...(r.cells ? { cells: r.cells } : {}),
    ...("timings" in r ? { timings: r.timings } : {}),
  };
}

export async function solve(request: Request, model: LoadedModel, limits: Limits): Promise<Response> {
  const type = request.headers.get("content-type") ?? "";
  if (type.startsWith("application/x-ndjson")) return solveNdjson(request, model, limits);
  const { puzzles, single, opts } = parseSolveBody(parseJson(await readBody(request, limits.maxBodyBytes)), model, limits);
  const encoded = encodePuzzles(model, puzzles, (i) => (single ? "puzzle" : `puzzles[${i}]`));
  const envelope = (results: Result[]) =>
    single ? { model: model.name, task: model.manifest.task, result: present(results[0]) } : { model: model.name, task: model.manifest.task, results: results.map(present) };

  if ((request.headers.get("accept") ?? "").includes("text/event-stream")) {
    return stream("text/event-stream", async (send) => {
      try {
        const results = await solveEncoded(model, encoded, opts, (step, progress) => send(sse("step", { step, puzzles: progress.map(present) })));
        await send(sse("result", envelope(results)));
      } catch (e) {
        await send(sse("error", { error: describeError(e) }));
      }
    });
  }
  return json(envelope(await solveEncoded(model, encoded, opts)));
}

/** One line in, one line out, in input order; a bad line gets an error line and the rest go on. */
async function solveNdjson(request: Request, model: LoadedModel, limits: Limits): Promise<Response> {
  const lines = (await readBody(request, limits.maxBodyBytes)).split("\n").map((text, i) => ({ text: text.trim(), line: i + 1 })).filter((l) => l.text);
  if (lines.length === 0) throw new TrmError("bad_request", "the NDJSON body has no lines", 400);
  if (lines.length > limits.maxPuzzles) throw tooMany(lines.length, limits);
  return stream("application/x-ndjson", async (send) => {
    for (const { text, line } of lines) {
      let out: unknown;
      try {
        const { puzzles, opts } = parseSolveBody(parseJson(text, `line ${line}`), model, limits, false);
        const [result] = await solveEncoded(model, encodePuzzles(model, puzzles, () => `line ${line}`), opts);
        out = { line, result: present(result) };
      } catch (e) {
        out = { line, error: describeError(e) };
      }
      await send(JSON.stringify(out) + "\n");
    }
  });
}

export function describeError(e: unknown) {
  if (e instanceof TrmError) return { code: e.code, message: e.message };
  console.error("internal error", e);
  return { code: "internal", message: "internal error" };
}

export function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A streamed response fed by `produce`; each `send` waits until the client
 * has taken the chunk, and a client that goes away stops the work.
 */
export function stream(contentType: string, produce: (send: (chunk: string) => Promise<void>) => Promise<void>): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const send = (chunk: string) => writer.write(encoder.encode(chunk));
  produce(send)
    .then(() => writer.close())
    .catch(() => writer.abort().catch(() => {}));
  return new Response(readable, { headers: { "content-type": `${contentType}; charset=utf-8`, "cache-control": "no-cache" } });
}
