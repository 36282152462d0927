// ARC: pick one of the pack's tasks (GET /v1/models/:name/tasks), see its
// demonstrations and test inputs (GET .../tasks/:task), and watch the vote
// form: after every supervision step of every slice of augmentations, each
// test input's leading grids with their votes and confidence; at the end
// attempt_1 and attempt_2 (what pass@2 scores) and, when the pack ships the
// outputs, whether they match. Grids are drawn in the ARC colours, with the
// colour numbers on request and in every grid's label.
import { type ModelInfo, getJson } from "../api.ts";
import { field, select } from "./controls.ts";
import type { OutcomeRow, Progress, TaskView } from "./view.ts";

type Grid = number[][];
interface TaskList {
  total: number;
  tasks: { task: string; augmentations: number; demonstrations: boolean }[];
  next_cursor: string | null;
}
interface Task {
  task: string;
  augmentations: number;
  train?: { input: Grid; output: Grid }[];
  test?: { input: Grid; output?: Grid }[];
}
interface Vote {
  attempt_1?: Grid;
  attempt_2?: Grid;
  candidates: { grid: Grid; votes: number; confidence: number }[];
}
interface StepEvent {
  task: string;
  slice: number;
  slices: number;
  step: number;
  tests: Vote[];
}
interface ArcResult {
  task: string;
  tests: Vote[];
  augmentations: number;
  sequences: number;
  steps: number;
  truncated: boolean;
  truncated_reason?: string;
  rows: { bytes_read: number; cached: boolean };
  timings?: { total_ms?: number };
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = "") => Object.assign(document.createElement(tag), { textContent: text, className });
const same = (a?: Grid, b?: Grid) => !!a && !!b && a.length === b.length && a.every((r, i) => r.length === b[i].length && r.every((c, j) => c === b[i][j]));
const shape = (g: Grid) => `${g.length}×${g[0]?.length ?? 0}`;

/** A captioned grid; cells that differ from `before` (same shape) are outlined and counted in the caption. */
function figure(caption: string, grid: Grid | undefined, px: number, before?: Grid): HTMLElement {
  const fig = el("figure");
  const cap = el("figcaption", caption);
  fig.append(cap);
  if (!grid) return fig;
  const cols = grid[0]?.length ?? 0;
  const compare = before && before.length === grid.length && before[0]?.length === cols ? before : undefined;
  let changed = 0;
  const g = el("div", "", "grid");
  g.style.setProperty("--cols", String(cols));
  g.style.setProperty("--cell", `${Math.max(3, Math.min(16, Math.floor(px / Math.max(grid.length, cols))))}px`);
  g.setAttribute("role", "img");
  g.setAttribute("aria-label", `${caption}, ${shape(grid)} colours by row: ${grid.map((r) => r.join(" ")).join("; ")}`);
  g.append(
    ...grid.flatMap((row, i) =>
      row.map((c, j) => {
        const diff = compare !== undefined && compare[i][j] !== c;
        changed += diff ? 1 : 0;
        return el("span", String(c), `k${c}${diff ? " changed" : ""}`);
      }),
    ),
  );
  cap.textContent = `${caption} (${shape(grid)}${compare ? `, ${changed} cells changed` : before ? ", new shape" : ""})`;
  fig.append(g);
  return fig;
}

const match = (attempt: Grid | undefined, output: Grid | undefined) => (output === undefined || attempt === undefined ? "" : same(attempt, output) ? ": matches" : ": differs");

export function arc(model: ModelInfo, token: () => string): TaskView {
  const base = `/v1/models/${encodeURIComponent(model.name)}/tasks`;
  let task: Task | undefined; // the one picked
  const loaded = new Map<string, Task>(); // every task fetched; events name theirs, so a task picked mid-run does not confuse the drawing
  let before: Vote[] = [];
  let wanted = ""; // the task picked last: an earlier pick that loads later is dropped
  const augmentations = Object.assign(el("input"), { type: "number", min: "1", value: "2", inputMode: "numeric" });

  /** The test inputs, and for each the current attempts, the expected output when shipped, and the vote. */
  function drawTests(board: HTMLElement, shown: Task | undefined, votes: Vote[], heading: string, final = false): void {
    board.className = "board arc";
    board.removeAttribute("role");
    board.setAttribute("aria-label", heading);
    board.replaceChildren(
      ...(shown?.test ?? []).map((t, i, tests) => {
        const v = votes[i];
        const section = el("section", "", "arc-test");
        section.append(el("h3", `Test input ${i + 1} of ${tests.length}`));
        const row = el("div", "", "grids");
        row.append(figure("input", t.input, 160));
        if (v) row.append(figure(`attempt 1${match(v.attempt_1, t.output)}`, v.attempt_1, 160, before[i]?.attempt_1), figure(`attempt 2${match(v.attempt_2, t.output)}`, v.attempt_2, 160, before[i]?.attempt_2));
        if (t.output) row.append(figure("expected output", t.output, 160));
        section.append(row);
        if (v) {
          const list = el("ol", "", "vote");
          list.setAttribute("aria-label", `the vote for test input ${i + 1}`);
          list.append(...v.candidates.map((c) => el("li", `${c.votes} vote${c.votes === 1 ? "" : "s"}, confidence ${c.confidence.toFixed(3)}, ${shape(c.grid)}${same(c.grid, t.output) ? " = expected" : ""}`)));
          section.append(el("p", `${final ? "Final vote" : "Vote so far"} (distinct grids, best first):`, "hint"), list);
        }
        return section;
      }),
      el("p", "Cells outlined in white changed since the previous step (the caption counts them). Colours are ARC's 0–9: tick \u201cShow colour numbers\u201d to read them.", "hint"),
    );
    before = votes;
  }

  async function load(container: HTMLElement, changed: () => void, id: string): Promise<void> {
    wanted = id;
    task = undefined;
    delete container.dataset.task;
    container.replaceChildren(el("p", `Loading task ${id}…`, "hint"));
    changed();
    const t = loaded.get(id) ?? (await getJson<Task>(`${base}/${encodeURIComponent(id)}`, token()));
    if (id !== wanted) return;
    task = t;
    loaded.set(t.task, t);
    container.dataset.task = t.task; // which task is shown, for people and tests
    augmentations.max = String(t.augmentations);
    augmentations.value = String(Math.min(Number(augmentations.value) || 2, t.augmentations));
    container.replaceChildren(el("h3", `Demonstrations (${t.train?.length ?? 0})`));
    for (const [i, pair] of (t.train ?? []).entries()) {
      const row = el("div", "", "grids pair");
      row.append(figure(`${i + 1}: input`, pair.input, 110), el("span", "→", "arrow"), figure(`${i + 1}: output`, pair.output, 110));
      container.append(row);
    }
    container.append(el("h3", `Test input${t.test!.length > 1 ? "s" : ""}`));
    const tests = el("div", "", "grids");
    tests.append(...t.test!.map((x, i) => figure(`test ${i + 1}`, x.input, 110)));
    container.append(tests);
    changed();
  }

  return {
    checked: false, // ARC has no answer check: the API treats "checked" as "adaptive"
    steps: 4, // each step of each augmented input is 15 network calls over 916 positions: start small
    async mount(container, changed) {
      const wrap = el("div"); // filled once the tasks arrive; detached if another model is picked meanwhile
      container.append(wrap);
      const tasks: TaskList["tasks"] = [];
      let total = 0;
      let cursor: string | null = null;
      do {
        const page: TaskList = await getJson<TaskList>(`${base}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, token());
        tasks.push(...page.tasks);
        total = page.total;
        cursor = page.next_cursor;
      } while (cursor);
      const shown = tasks.filter((t) => t.demonstrations);
      if (shown.length === 0) throw new Error(`This pack ships no demonstrations (puzzle_table.puzzles_file) for its ${total} tasks, so the page has no test input to send.`);
      const pick = field(wrap, "Task", select(shown.map((t) => `${t.task} (${t.augmentations} augmentations)`))) as HTMLSelectElement;
      wrap.append(el("p", `${shown.length} of the ${total} tasks in this pack's index have demonstrations and test inputs in the pack.`, "hint"));
      field(wrap, "Augmentations: the first N of the task's rows (the original first); each augmented input is solved, then all vote", augmentations);
      const numbers = field(wrap, "Show colour numbers in the cells", Object.assign(el("input"), { type: "checkbox" })) as HTMLInputElement;
      numbers.parentElement!.classList.add("check");
      numbers.addEventListener("change", () => document.body.classList.toggle("numbers", numbers.checked));
      const demos = el("div", "", "demos");
      wrap.append(demos);
      const showFailure = (e: unknown) => demos.replaceChildren(el("p", `Could not load the task: ${(e as Error).message}`, "hint"));
      pick.addEventListener("change", () => load(demos, changed, shown[Number(pick.value)].task).catch(showFailure));
      await load(demos, changed, shown[0].task);
    },
    request(options) {
      if (!task?.test) throw new Error("The task is still loading; try again in a moment.");
      return { task: task.task, test: task.test.map((t) => ({ input: t.input })), augmentations: Number(augmentations.value), ...options };
    },
    reset(board) {
      before = [];
      if (task) drawTests(board, task, [], `task ${task.task}: its test inputs`);
      else board.replaceChildren();
    },
    step(board, data): Progress {
      const e = data as StepEvent;
      drawTests(board, loaded.get(e.task), e.tests, `task ${e.task}: the vote after step ${e.step}`);
      return { step: e.step, confidence: e.tests[0]?.candidates[0]?.confidence ?? 0, halted: false, phase: e.slices > 1 ? `Slice ${e.slice} of ${e.slices} of the augmented inputs.` : undefined };
    },
    result(board, data) {
      const r = (data as { result: ArcResult }).result;
      drawTests(board, loaded.get(r.task), r.tests, `task ${r.task}: the final vote`, true);
      const tests = loaded.get(r.task)?.test ?? [];
      const scored = tests.every((t) => t.output !== undefined);
      const hits = r.tests.filter((v, i) => same(v.attempt_1, tests[i]?.output) || same(v.attempt_2, tests[i]?.output)).length;
      const rows: OutcomeRow[] = [
        ["pass@2", scored ? `${hits} of ${tests.length} test input${tests.length > 1 ? "s" : ""} (attempt 1 or 2 matches the expected output)` : "no expected outputs in this pack", "pass2"],
        ...r.tests.map((v, i): OutcomeRow => [`Test ${i + 1}`, tests[i]?.output === undefined ? "no expected output" : same(v.attempt_1, tests[i].output) ? "attempt 1 matches" : same(v.attempt_2, tests[i].output) ? "attempt 2 matches" : "neither attempt matches", `test-${i + 1}`]),
        ["Augmentations", `${r.augmentations} (${r.sequences} augmented inputs voted)`, "augmentations"],
        ["Steps", String(r.steps), "steps"],
        ...(r.truncated ? [["Truncated", `yes: the vote so far (${r.truncated_reason ?? "no reason given"})`, "truncated"] as OutcomeRow] : []),
        ["Rows read from R2", r.rows.cached ? "none (cached)" : `${r.rows.bytes_read.toLocaleString("en")} bytes`, "rows"],
        ["Server total", `${r.timings?.total_ms ?? "?"} ms`, "total"],
      ];
      return { step: r.steps, confidence: r.tests[0]?.candidates[0]?.confidence ?? 0, halted: false, rows };
    },
  };
}
