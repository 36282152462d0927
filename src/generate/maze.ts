// Maze generation in the official encoding ("# SGo": wall, open, start, goal,
// path). Rooms sit on odd coordinates of an odd-sided grid; a random
// depth-first carve gives a perfect maze, a few extra walls are knocked out to
// make loops, and start/goal are kept only when exactly one shortest path joins
// them, so every puzzle has a single right answer.
import { Random } from "./random.ts";

export interface GeneratedMaze {
  maze: string; // (side·side) characters from "# SG"
  solution: string; // the maze with the shortest path drawn as 'o'
  pathLength: number; // steps from S to G
}

function neighbours(side: number, i: number): number[] {
  const r = Math.floor(i / side);
  const c = i % side;
  const out: number[] = [];
  if (r > 0) out.push(i - side);
  if (r < side - 1) out.push(i + side);
  if (c > 0) out.push(i - 1);
  if (c < side - 1) out.push(i + 1);
  return out;
}

function carve(side: number, random: Random): Uint8Array {
  const open = new Uint8Array(side * side); // 1 = open
  const rooms = (side - 1) / 2;
  const room = (r: number, c: number) => (2 * r + 1) * side + 2 * c + 1;
  const stack = [[random.int(rooms), random.int(rooms)]];
  open[room(stack[0][0], stack[0][1])] = 1;
  while (stack.length > 0) {
    const [r, c] = stack[stack.length - 1];
    const next = [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]].filter(
      ([nr, nc]) => nr >= 0 && nr < rooms && nc >= 0 && nc < rooms && !open[room(nr, nc)],
    );
    if (next.length === 0) {
      stack.pop();
      continue;
    }
    const [nr, nc] = next[random.int(next.length)];
    open[(r + nr + 1) * side + c + nc + 1] = 1; // the wall between the two rooms
    open[room(nr, nc)] = 1;
    stack.push([nr, nc]);
  }
  return open;
}

/** BFS distances and number of distinct shortest paths (capped at 2) from `from`. */
function shortestPaths(side: number, open: Uint8Array, from: number): { dist: Int32Array; count: Uint8Array } {
  const dist = new Int32Array(side * side).fill(-1);
  const count = new Uint8Array(side * side);
  dist[from] = 0;
  count[from] = 1;
  const queue = [from];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    for (const j of neighbours(side, i)) {
      if (!open[j]) continue;
      if (dist[j] < 0) {
        dist[j] = dist[i] + 1;
        queue.push(j);
      }
      if (dist[j] === dist[i] + 1) count[j] = Math.min(2, count[j] + count[i]);
    }
  }
  return { dist, count };
}

/**
 * A maze of `side` x `side` cells (odd, at least 5) whose unique shortest path
 * from S to G has at least `minPath` steps. `loops` extra walls are opened.
 */
export function generateMaze(random: Random, side: number, minPath: number, loops: number): GeneratedMaze {
  if (!Number.isInteger(side) || side < 5 || side % 2 === 0) throw new RangeError(`maze side must be an odd integer >= 5, got ${side}`);
  for (let attempt = 0; ; attempt++) {
    if (attempt === 10000) throw new RangeError(`no ${side}x${side} maze with a unique shortest path of ${minPath}+ steps found; lower the minimum path length`);
    const open = carve(side, random);
    const innerWalls: number[] = [];
    for (let r = 1; r < side - 1; r++) {
      for (let c = 1; c < side - 1; c++) if (!open[r * side + c] && (r % 2) + (c % 2) === 1) innerWalls.push(r * side + c);
    }
    for (const w of random.shuffle(innerWalls).slice(0, loops)) open[w] = 1;
    const cells = Array.from({ length: side * side }, (_, i) => i).filter((i) => open[i]);
    for (let pick = 0; pick < 20; pick++) {
      const start = cells[random.int(cells.length)];
      const { dist, count } = shortestPaths(side, open, start);
      const goals = cells.filter((g) => dist[g] >= minPath && count[g] === 1);
      if (goals.length === 0) continue;
      const goal = goals[random.int(goals.length)];
      const maze: string[] = Array.from(open, (o) => (o ? " " : "#"));
      maze[start] = "S";
      maze[goal] = "G";
      const solution = [...maze];
      // Walk back from the goal along strictly decreasing distances: unique because the path is.
      for (let i = goal; dist[i] > 1; ) {
        i = neighbours(side, i).find((j) => open[j] && dist[j] === dist[i] - 1)!;
        solution[i] = "o";
      }
      return { maze: maze.join(""), solution: solution.join(""), pathLength: dist[goal] };
    }
  }
}
