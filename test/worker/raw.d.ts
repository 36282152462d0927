// `?raw` imports (Vite): a file's exact text, e.g. an ARC pack's task index, whose bytes its checksum covers.
declare module "*?raw" {
  const text: string;
  export default text;
}
