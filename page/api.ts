// The page's client for the Worker's API (same origin): GETs (the model list,
// an ARC model's tasks) and a solve whose SSE events are read from a POST
// (EventSource can only GET).

export interface ModelInfo {
  name: string;
  task?: string;
  parameters?: number;
  size_bytes?: number;
  dtype?: string;
  seq_len?: number;
  halt_max_steps?: number;
  error?: { code: string; message: string };
}

/** What a step event or the final result says about one puzzle; read defensively (fields may be added or missing). */
export interface PuzzleState {
  solution: unknown;
  steps: number;
  confidence: number;
  halted: boolean;
  cells?: number[];
  solved?: boolean;
  check?: Record<string, unknown>;
  timings?: { compute_ms?: number; total_ms?: number };
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function headers(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function failure(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    if (body?.error?.message) return new ApiError(String(body.error.code), String(body.error.message), res.status);
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError("http_error", `the server answered HTTP ${res.status} ${res.statusText}`, res.status);
}

export async function getJson<T>(path: string, token: string): Promise<T> {
  const res = await fetch(path, { headers: headers(token) });
  if (!res.ok) throw await failure(res);
  return res.json();
}

export const listModels = async (token: string): Promise<ModelInfo[]> => (await getJson<{ models?: ModelInfo[] }>("/v1/models", token)).models ?? [];

/** The data of each SSE event, as the task's answer shapes it (the view reads it). */
export interface SolveEvents {
  step(data: unknown): Promise<void> | void;
  result(data: unknown): void;
}

/**
 * POSTs one request with Accept: text/event-stream and feeds the events to
 * `on`, awaiting each step handler before reading on (so a slow animation
 * holds the server back instead of piling frames up).
 */
export async function solveStream(model: string, body: Record<string, unknown>, token: string, on: SolveEvents, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/v1/models/${encodeURIComponent(model)}/solve`, {
    method: "POST",
    headers: headers(token, { "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"));
      if (event === "step") await on.step(data);
      else if (event === "result") return on.result(data);
      else if (event === "error") throw new ApiError(data.error.code, data.error.message, res.status);
    }
  }
  throw new ApiError("stream_ended", "the stream ended before the final result", res.status);
}
