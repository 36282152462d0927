// GET /run?config=sudoku|arc&batch=N&quick=0|1 → a NetworkRun (bench/network.ts)
// measured inside workerd on the bundled kernels. Wall time only: workerd
// has no CPU clock for the isolate (peer-bench / workers-stack notes).
import kernels from "../../build/kernels.wasm";
import { CONFIGS } from "../configs.ts";
import { benchNetwork } from "../network.ts";
import { plan } from "../timing.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/run") return new Response("GET /run?config=sudoku|arc&batch=N&quick=0|1", { status: 404 });
    const config = url.searchParams.get("config") ?? "";
    const batch = Number(url.searchParams.get("batch") ?? "1");
    const quick = url.searchParams.get("quick") === "1";
    if (!(config in CONFIGS) || !(batch >= 1)) return new Response(`bad config ${config} or batch ${batch}`, { status: 400 });
    const big = config === "arc";
    const plans = quick
      ? { call: plan(big ? 1 : 100, 3, big ? 0 : 30), step: plan(big ? 0 : 1, big ? 1 : 2, 0) }
      : { call: plan(big ? 1000 : 500, big ? 5 : 9, big ? 0 : 150), step: plan(big ? 0 : 200, big ? 2 : 5, big ? 0 : 150) };
    try {
      return Response.json(await benchNetwork(kernels, config, batch, "workerd", plans));
    } catch (e) {
      return new Response(String((e as Error).stack ?? e), { status: 500 });
    }
  },
};
