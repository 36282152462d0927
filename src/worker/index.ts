// The Worker: a thin shell around the routes (app.ts) and the engine (src/solver.ts).
//   GET  /v1/health                 the bucket and the loaded models
//   GET  /v1/models                 models in the bucket
//   GET  /v1/models/:name           one model's manifest and size
//   POST /v1/models/:name/solve     solve puzzles (JSON, NDJSON or SSE; see solve.ts)
//   GET  /openapi.json              the API described (OpenAPI 3.1)
//   /v1/jobs...                     batch jobs over Queues (see jobs/api.ts); the queue handler is their consumer
import { handle } from "./app.ts";
import { consume } from "./jobs/consumer.ts";
import type { JobsEnv, SliceMessage } from "./jobs/types.ts";

export type { WorkerEnv } from "./config.ts";
export { JobState } from "./jobs/state.ts";

export default {
  fetch: handle,
  queue: consume,
} satisfies ExportedHandler<JobsEnv, SliceMessage>;
