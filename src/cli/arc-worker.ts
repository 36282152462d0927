// A worker thread of `trm arc`: solves its share of the tasks and posts
// progress and answers back; errors go back as {code, message} (a TrmError
// does not survive structured cloning).
import { parentPort, workerData } from "node:worker_threads";
import { TrmError } from "../errors.ts";
import { type ArcSettings, type TaskWork, solveTasks } from "./arc-solve.ts";

const { settings, work } = workerData as { settings: ArcSettings; work: TaskWork[] };
const post = (message: unknown) => parentPort!.postMessage(message);
try {
  await solveTasks(settings, work, (task, fraction) => post({ type: "progress", task, fraction }), (answer) => post({ type: "answer", answer }));
  post({ type: "done" });
} catch (e) {
  post({ type: "error", error: e instanceof TrmError ? { code: e.code, message: e.message, status: e.status } : { code: "internal", message: String((e as Error)?.stack ?? e), status: 500 } });
}
