// The playground: pick a model, a puzzle and options; Solve streams the
// supervision steps (SSE) and draws each one, then the final check and timings.
import { ApiError, type ModelInfo, listModels, solveStream } from "./api.ts";
import { VIEWS } from "./views/index.ts";
import type { OutcomeRow, Progress, TaskView } from "./views/view.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>("model");
const maxSteps = $<HTMLInputElement>("max-steps");
const halt = $<HTMLSelectElement>("halt");
const delay = $<HTMLSelectElement>("delay");
const token = $<HTMLInputElement>("token");
const solveButton = $<HTMLButtonElement>("solve");
const errorBox = $("error");
const board = $("board");
const outcome = $("outcome");
const history = $("history");

let models: ModelInfo[] = [];
let view: TaskView | undefined;
let running: AbortController | undefined;

/** Page state for people and tests: idle, running, done or error. */
const setState = (state: string) => (document.body.dataset.state = state);

function showError(e: unknown): void {
  setState("error");
  if (e instanceof ApiError) errorBox.textContent = `${e.message} (${e.code}, HTTP ${e.status})`;
  else if (e instanceof DOMException && e.name === "AbortError") errorBox.textContent = "Stopped.";
  else if (e instanceof TypeError) errorBox.textContent = `Could not reach the API: ${e.message}`;
  else errorBox.textContent = String((e as Error).message ?? e);
}

function describe(m: ModelInfo): string {
  if (m.error) return `unavailable: ${m.error.message}`;
  const size = m.size_bytes === undefined ? "" : `, ${(m.size_bytes / 1e6).toFixed(2)} MB ${m.dtype ?? ""}`;
  return `task ${m.task}, ${m.parameters?.toLocaleString("en") ?? "?"} parameters${size}, up to ${m.halt_max_steps} steps`;
}

function resetProgress(): void {
  $("step").textContent = "No steps yet.";
  $("halted").textContent = "";
  $("halting-value").textContent = "–";
  $<HTMLMeterElement>("halting").value = 0;
  history.replaceChildren();
  history.setAttribute("aria-label", "halting confidence by step: none yet");
  outcome.replaceChildren();
}

function pickModel(): void {
  const m = models[Number(modelSelect.value)];
  $("model-info").textContent = describe(m);
  const container = $("task-input");
  container.replaceChildren();
  view = VIEWS[m.task ?? ""]?.(m, () => token.value);
  maxSteps.max = String(m.halt_max_steps ?? 16);
  maxSteps.value = String(Math.min(view?.steps ?? Infinity, Number(maxSteps.max)));
  // "checked" stops at the first answer that passes the task's check; a task without one has nothing to check.
  const checked = halt.querySelector<HTMLOptionElement>("option[value=checked]")!;
  checked.disabled = !view?.checked;
  if (checked.disabled && halt.value === "checked") halt.value = "fixed";
  const redraw = () => {
    resetProgress();
    view?.reset(board);
  };
  const mounted = view?.mount(container, redraw);
  redraw();
  if (!mounted) {
    setState("idle");
    return;
  }
  setState("loading");
  const current = view;
  mounted.then(() => view === current && setState("idle"), (e) => view === current && showError(e));
}

let phase: string | undefined;

/** One bar per step for the halting confidence, so its rise (or not) stays in view; a new phase starts a new history. */
function addToHistory(p: Progress): void {
  if (p.phase !== phase) history.replaceChildren();
  phase = p.phase;
  const bar = document.createElement("span");
  bar.style.setProperty("--p", String(p.confidence));
  history.append(bar);
  const values = [...history.children].map((b) => Number((b as HTMLElement).style.getPropertyValue("--p")).toFixed(2));
  history.setAttribute("aria-label", `halting confidence by step: ${values.join(", ")}`);
}

function showProgress(p: Progress, limit: number): void {
  $("step").textContent = `Step ${p.step} of ${limit}.${p.phase ? ` ${p.phase}` : ""}`;
  $("halted").textContent = p.halted ? "Halted." : "";
  $("halting-value").textContent = p.confidence.toFixed(3);
  $<HTMLMeterElement>("halting").value = p.confidence;
}

function showOutcome(rows: OutcomeRow[], clickToFinalMs: number): void {
  outcome.replaceChildren(
    ...[...rows, ["Click to final step", `${Math.round(clickToFinalMs)} ms`, "click-to-final"] as OutcomeRow].flatMap(([term, value, key]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.key = key;
      return [dt, dd];
    }),
  );
}

async function solve(): Promise<void> {
  if (running) return running.abort();
  const m = models[Number(modelSelect.value)];
  if (!view) return;
  errorBox.textContent = "";
  const limit = Number(maxSteps.value);
  let body: Record<string, unknown>;
  try {
    body = view.request({ max_steps: limit, halt: halt.value });
  } catch (e) {
    return showError(e); // nothing to send yet (e.g. no task chosen)
  }
  resetProgress();
  view.reset(board);
  phase = undefined;
  setState("running");
  board.scrollIntoView({ behavior: "smooth", block: "nearest" }); // on a phone the board sits below the controls
  running = new AbortController();
  solveButton.textContent = "Stop";
  modelSelect.disabled = true; // the view and its board belong to this model until the run ends
  const clicked = performance.now();
  let finalStepAt = clicked;
  try {
    await solveStream(m.name, body, token.value, {
      step: async (data) => {
        const p = view!.step(board, data);
        showProgress(p, limit);
        addToHistory(p);
        finalStepAt = performance.now();
        if (!p.halted) await new Promise((r) => setTimeout(r, Number(delay.value)));
      },
      result: (data) => {
        const p = view!.result(board, data);
        showProgress(p, limit);
        showOutcome(p.rows, finalStepAt - clicked);
        setState("done");
      },
    }, running.signal);
  } catch (e) {
    showError(e);
  } finally {
    running = undefined;
    solveButton.textContent = "Solve";
    modelSelect.disabled = false;
  }
}

async function start(): Promise<void> {
  setState("loading");
  try {
    models = await listModels(token.value);
  } catch (e) {
    return showError(e);
  }
  modelSelect.replaceChildren(
    ...models.map((m, i) => {
      const usable = !m.error && m.task !== undefined && m.task in VIEWS;
      const option = new Option(usable ? m.name : `${m.name} (${m.error ? "unavailable" : `no view for task ${m.task}`})`, String(i));
      option.disabled = !usable;
      return option;
    }),
  );
  const first = models.findIndex((m) => m.name === "sudoku" && !m.error);
  const usable = models.findIndex((m) => !m.error && m.task !== undefined && m.task in VIEWS);
  if (usable < 0) return showError(new Error("The server has no model this page can show."));
  modelSelect.value = String(first >= 0 ? first : usable);
  modelSelect.disabled = false;
  solveButton.disabled = false;
  errorBox.textContent = "";
  pickModel();
}

modelSelect.addEventListener("change", pickModel);
solveButton.addEventListener("click", solve);
token.addEventListener("change", start); // a server with API_TOKEN answers 401 until the token is given
start();
