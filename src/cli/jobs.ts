// `trm jobs`: batch jobs on a running Worker (POST/GET/DELETE /v1/jobs).
//   submit   a file of puzzles becomes one job; a progress bar on stderr while
//            the queue consumers work, then the results (NDJSON) on stdout or --out;
//            for --task arc a tasks file (test_puzzles.json), and at the end
//            the submission (--submission) and the pass@K report (--json)
//   status   the job's state and counts (JSON)
//   results  what is finished so far, in input order (NDJSON)
//   cancel   messages still queued do no work
import { parseArgs } from "node:util";
import { writeFile } from "node:fs/promises";
import { TrmError } from "../errors.ts";
import { TASKS, type TaskName } from "../engine/config.ts";
import { UsageError, haltOption, intOption, progressBar, readText } from "./args.ts";
import { parseLines } from "./solve.ts";

const POLL_MS = 500;

interface JobStatus {
  id: string;
  state: "queued" | "running" | "voting" | "done" | "cancelled";
  counts: { total: number; done: number; failed: number; pending: number };
  cpu_ms: number;
  elapsed_s: number;
  failures: { start: number; count: number; attempts: number; error: { code: string; message: string } }[];
}

class Client {
  private readonly base: string;
  private readonly token: string | undefined;

  constructor(base: string, token: string | undefined) {
    this.base = base;
    this.token = token;
  }

  async call(path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.base.replace(/\/+$/, "")}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) } });
    } catch (e) {
      throw new TrmError("worker_unreachable", `cannot reach ${url}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      const err = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      throw new TrmError(err?.error?.code ?? "worker_error", `${init.method ?? "GET"} ${url} answered HTTP ${res.status}: ${err?.error?.message ?? res.statusText}`);
    }
    return res;
  }

  async status(id: string, method = "GET"): Promise<JobStatus> {
    return (await (await this.call(`/v1/jobs/${encodeURIComponent(id)}`, { method })).json()) as JobStatus;
  }

  async results(id: string, part: "results" | "submission" | "report" = "results"): Promise<string> {
    return (await this.call(`/v1/jobs/${encodeURIComponent(id)}/${part}`)).text();
  }
}

async function output(text: string, out: string | undefined): Promise<void> {
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
}

function summary(s: JobStatus): string {
  const lines = [`trm jobs: job ${s.id} ${s.state}: ${s.counts.done} done, ${s.counts.failed} failed of ${s.counts.total} puzzles, ${(s.cpu_ms / 1000).toFixed(1)} s of compute in ${s.elapsed_s.toFixed(1)} s`];
  for (const f of s.failures) lines.push(`trm jobs:   puzzles ${f.start}..${f.start + f.count - 1} failed after ${f.attempts} attempt(s): ${f.error.code}: ${f.error.message}`);
  return lines.join("\n") + "\n";
}

async function submit(client: Client, values: Record<string, string | boolean | undefined>): Promise<void> {
  const task = values.task as TaskName;
  if (!values["model-name"]) throw new UsageError("jobs submit needs --model-name <name>");
  if (!TASKS.includes(task)) throw new UsageError(`jobs submit needs --task ${TASKS.join("|")}`);
  if (typeof values.input !== "string") throw new UsageError(`jobs submit needs --input <file> (${task === "arc" ? "test_puzzles.json" : "one puzzle per line"})`);
  const arc = task === "arc";
  if (arc && !values.submission && !values.json) throw new UsageError("jobs submit --task arc needs --submission <file> and/or --json <report>");
  if (!arc && (values.submission || values.json || values.augmentations || values["h-cycles"])) throw new UsageError("--submission, --json, --augmentations and --h-cycles are for --task arc");
  const text = await readText(values.input, "input");
  const steps = intOption(values.steps as string | undefined, "steps");
  const options = {
    halt: haltOption(values.halt as string | undefined),
    ...(steps ? { max_steps: steps } : {}),
    ...(values.augmentations ? { augmentations: values.augmentations === "all" ? "all" : intOption(values.augmentations as string, "augmentations") } : {}),
    ...(values["h-cycles"] ? { h_cycles: intOption(values["h-cycles"] as string, "h-cycles") } : {}),
  };
  let work: Record<string, unknown>;
  if (arc) {
    try {
      work = { tasks: JSON.parse(text) };
    } catch (e) {
      throw new TrmError("bad_input_json", `${values.input} is not valid JSON: ${(e as Error).message}`);
    }
  } else {
    const lines = parseLines(text, task);
    if (lines.length === 0) throw new UsageError(`${values.input} has no puzzles`);
    const bad = lines.find((l) => l.error);
    if (bad) throw new TrmError(bad.error!.code, `${values.input}: ${bad.error!.message}`);
    work = { puzzles: lines.map((l) => l.puzzle) };
  }
  const body = JSON.stringify({ model: values["model-name"], ...work, options });
  const job = (await (await client.call("/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body })).json()) as JobStatus;
  process.stderr.write(`trm jobs: submitted job ${job.id} (${job.counts.total} puzzles); trm jobs status|results|cancel ${job.id} --url ${values.url}\n`);
  if (values["no-wait"]) {
    process.stdout.write(JSON.stringify(job) + "\n");
    return;
  }
  const bar = progressBar("jobs", job.counts.total, arc ? "augmented inputs" : "puzzles");
  let s = job;
  for (;;) {
    bar.update(s.counts.done + s.counts.failed);
    if (s.state === "done" || s.state === "cancelled") break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    s = await client.status(job.id);
  }
  bar.end();
  if (!arc || values.out) await output(await client.results(job.id), values.out as string | undefined);
  if (arc && s.state === "done") {
    if (values.submission) await writeFile(values.submission as string, await client.results(job.id, "submission"));
    const report = await client.results(job.id, "report");
    if (values.json) await writeFile(values.json as string, report);
    const result = (JSON.parse(report) as { result: unknown }).result;
    if (result) process.stdout.write(JSON.stringify(result) + "\n");
  }
  process.stderr.write(summary(s));
  if (s.state === "cancelled") throw new TrmError("job_cancelled", `job ${s.id} was cancelled; the results written are the puzzles finished before that`);
  if (s.counts.failed) throw new TrmError("job_failed", `${s.counts.failed} of ${s.counts.total} puzzles failed (their result lines carry the error)`);
}

export async function jobsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      "model-name": { type: "string" },
      task: { type: "string" },
      input: { type: "string" },
      steps: { type: "string" },
      halt: { type: "string" },
      out: { type: "string" },
      submission: { type: "string" },
      json: { type: "string" },
      augmentations: { type: "string" },
      "h-cycles": { type: "string" },
      "no-wait": { type: "boolean", default: false },
    },
  });
  if (!["submit", "status", "results", "cancel"].includes(sub)) throw new UsageError("jobs needs submit, status, results or cancel");
  if (!values.url) throw new UsageError(`jobs ${sub} needs --url <worker url>`);
  const client = new Client(values.url, values.token ?? process.env.TRM_API_TOKEN);
  if (sub === "submit") {
    if (positionals.length) throw new UsageError("jobs submit takes no job id");
    return submit(client, values);
  }
  if (positionals.length !== 1) throw new UsageError(`jobs ${sub} takes exactly one job id`);
  const [id] = positionals;
  if (sub === "results") return output(await client.results(id), values.out);
  const s = await client.status(id, sub === "cancel" ? "DELETE" : "GET");
  process.stdout.write(JSON.stringify(s, null, 2) + "\n");
}
