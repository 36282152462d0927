// How concurrent solve requests share the isolate's one thread: first come,
// first served, one supervision step at a time. Before each step a request
// waits for its turn: the oldest waiting request goes next, so requests
// finish in arrival order instead of all finishing late (round-robin), and a
// request that waits on its client (a slow stream reader) does not hold the
// others up. Each waiter polls from a timer of its own request (a timer set by
// another request dies with that request in workerd), so other I/O, a GET or
// a new request, is served between any two steps. Only the two oldest waiters
// poll at every turn; one further back has at least that many steps to wait,
// so it sleeps half that long (from the measured time between turns, at most
// MAX_SLEEP_MS) before looking again: 64 waiters re-arming a timer every step
// cost 6-10 % of the throughput. At most `limit` requests are admitted; one
// more is a 503 with Retry-After.
import { TrmError } from "../errors.ts";
import { cancelled } from "../solver.ts";

let nextTicket = 0;
let admitted = 0;
const waiting = new Set<number>(); // tickets of the requests waiting for a turn
const MAX_SLEEP_MS = 100;
let lastTurnAt: number | undefined; // when the last turn was given
let turnMs = 0; // recent time between turns (about one supervision step)

/** Gives the turn to the caller: records how long the turn before it lasted. */
function grant(ticket: number): void {
  waiting.delete(ticket);
  const now = performance.now();
  if (lastTurnAt !== undefined) turnMs = 0.8 * turnMs + 0.2 * (now - lastTurnAt);
  lastTurnAt = now;
}

/** Requests admitted in this isolate (solving or waiting for a turn). */
export const solving = () => admitted;

/** Runs `work` as one admitted request; `work` receives the `turn` to await before each step. */
export async function scheduled<T>(limit: number, work: (turn: () => Promise<void>) => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (admitted >= limit) throw new TrmError("overloaded", `${admitted} requests are being solved here (the limit is ${limit}); retry shortly`, 503, { "retry-after": "5" });
  admitted++;
  const ticket = nextTicket++;
  // When the client disconnects, workerd cancels the request: its timers never
  // fire and its awaits never finish, but the abort event still runs. So the
  // slot is given back there too, or a dead request would hold its turn forever.
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    admitted--;
    waiting.delete(ticket);
  };
  signal?.addEventListener("abort", release, { once: true });
  const turn = () =>
    new Promise<void>((resolve, reject) => {
      if (released) return reject(cancelled());
      waiting.add(ticket);
      const poll = () => {
        if (released) return reject(cancelled());
        let ahead = 0;
        for (const t of waiting) if (t < ticket) ahead++;
        if (ahead === 0) {
          grant(ticket);
          resolve();
        } else {
          setTimeout(poll, ahead < 2 ? 0 : Math.min(MAX_SLEEP_MS, ((ahead - 1) * turnMs) / 2));
        }
      };
      setTimeout(poll, 0);
    });
  try {
    return await work(turn);
  } finally {
    signal?.removeEventListener("abort", release);
    release();
  }
}
