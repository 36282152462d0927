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

/** Runs `work` as one admitted request; `work` receives the `turn` to await before each step. */
export async function scheduled<T>(limit: number, work: (turn: () => Promise<void>) => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (admitted >= limit) throw new TrmError("overloaded", `${admitted} requests are being solved here (the limit is ${limit}); retry shortly`, 503, { "retry-after": "5" });
  admitted++;
  const ticket = nextTicket++;
  const turn = () =>
    new Promise<void>((resolve, reject) => {
      waiting.add(ticket);
      const poll = () => {
        if (signal?.aborted) {
          waiting.delete(ticket);
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
    admitted--;
  }
}
