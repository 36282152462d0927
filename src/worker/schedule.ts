// How concurrent solve requests share the isolate's one thread: first come,
// first served, one supervision step at a time. Before each step a request
// waits for its turn: the oldest waiting request goes next, so requests
// finish in arrival order instead of all finishing late (round-robin), and a
// request that waits on its client (a slow stream reader) does not hold the
// others up. Each waiter polls from a timer of its own request (a timer set by
// another request dies with that request in workerd), so other I/O, a GET or
// a new request, is served between any two steps. At most `limit` requests
// are admitted; one more is a 503 with Retry-After.
import { TrmError } from "../errors.ts";
import { cancelled } from "../solver.ts";

let nextTicket = 0;
let admitted = 0;
const waiting = new Set<number>(); // tickets of the requests waiting for a turn

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
        if (released) {
          reject(cancelled());
        } else if (ticket === Math.min(...waiting)) {
          waiting.delete(ticket);
          resolve();
        } else {
          setTimeout(poll, 0);
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
