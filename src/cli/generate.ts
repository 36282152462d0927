// `trm generate sudoku|maze`: puzzle sets with unique answers, written as CSV in
// the layout of the official dataset sources (source,question,answer,rating),
// so the official dataset builders and our trainer and evaluator all read them.
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { Random } from "../generate/random.ts";
import { generateMaze } from "../generate/maze.ts";
import { generateSudoku, sudokuString } from "../generate/sudoku.ts";
import { UsageError, intOption } from "./args.ts";

const CSV_HEADER = "source,question,answer,rating\n";

/** "36" or "26-40" → [min, max] */
function cluesOption(v: string | undefined): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v ?? "36");
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2] ?? m?.[1]);
  if (!m || lo < 17 || hi > 81 || lo > hi) throw new UsageError(`--clues must be N or MIN-MAX within 17..81, got ${JSON.stringify(v)}`);
  return [lo, hi];
}

export async function generateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      count: { type: "string" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      clues: { type: "string" },
      side: { type: "string", default: "9" }, // the shipped maze model's size (weights/maze)
      "min-path": { type: "string" },
      loops: { type: "string" },
    },
  });
  const [task] = positionals;
  if (positionals.length !== 1 || (task !== "sudoku" && task !== "maze")) throw new UsageError("generate takes one task: sudoku or maze");
  const count = intOption(values.count, "count");
  if (count === undefined) throw new UsageError("generate needs --count N");
  const seed = intOption(values.seed, "seed", 0)!;
  const random = new Random(seed);
  const source = `trm-generate-${task}-seed${seed}`;

  let row: () => string;
  if (task === "sudoku") {
    const [lo, hi] = cluesOption(values.clues);
    row = () => {
      const s = generateSudoku(random, lo + random.int(hi - lo + 1));
      return `${source},${sudokuString(s.puzzle)},${sudokuString(s.solution)},${s.guesses}\n`;
    };
  } else {
    const side = intOption(values.side, "side", 5)!;
    if (side % 2 === 0) throw new UsageError(`--side must be odd (rooms sit on odd coordinates), got ${side}`);
    const minPath = intOption(values["min-path"], "min-path", 1) ?? side;
    const loops = intOption(values.loops, "loops", 0) ?? Math.floor(side / 3);
    row = () => {
      const m = generateMaze(random, side, minPath, loops);
      return `${source},${m.maze},${m.solution},${m.pathLength}\n`;
    };
  }

  const out = values.out ? createWriteStream(values.out) : process.stdout;
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  await write(CSV_HEADER);
  const started = performance.now();
  for (let i = 1; i <= count; i++) {
    await write(row());
    if (i % 1000 === 0 || i === count) process.stderr.write(`trm generate: ${i}/${count} ${task} puzzles, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  if (out !== process.stdout) {
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.end(resolve);
    });
  }
}
