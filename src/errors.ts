// One error type for everything a user can get wrong. `code` is stable and
// machine-readable (the Worker returns it as {error:{code,message}}); `message`
// names the problem in words a user can act on.
export class TrmError extends Error {
  readonly code: string;
  readonly status: number;
  readonly headers: Record<string, string>; // HTTP headers the answer needs (Allow, Retry-After)

  constructor(code: string, message: string, status = 400, headers: Record<string, string> = {}) {
    super(message);
    this.name = "TrmError";
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** A value as an error message may quote it: JSON, cut to a bounded length (messages never echo a whole input). */
export function preview(value: unknown, max = 80): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = "(unprintable)";
  }
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}
