// One error type for everything a user can get wrong. `code` is stable and
// machine-readable (the Worker returns it as {error:{code,message}}); `message`
// names the problem in words a user can act on.
export class TrmError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = "TrmError";
    this.code = code;
    this.status = status;
  }
}
