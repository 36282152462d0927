// A square board of cells shared by the task views: one element per cell,
// reused from step to step so only text, classes and shading change.

export interface CellView {
  text: string;
  label: string; // what a screen reader says for the cell
  classes: string[];
  confidence?: number; // 0..1, drawn as shading through the --p custom property
}

export function drawBoard(board: HTMLElement, side: number, kind: string, caption: string, cells: CellView[]): void {
  board.className = `board ${kind}`;
  board.setAttribute("role", "table");
  board.setAttribute("aria-label", caption);
  if (board.childElementCount !== side || board.firstElementChild?.childElementCount !== side) {
    board.replaceChildren(
      ...Array.from({ length: side }, () => {
        const row = document.createElement("div");
        row.className = "row";
        row.setAttribute("role", "row");
        row.append(
          ...Array.from({ length: side }, () => {
            const cell = document.createElement("div");
            cell.setAttribute("role", "cell");
            return cell;
          }),
        );
        return row;
      }),
    );
  }
  cells.forEach((c, i) => {
    const el = board.children[Math.floor(i / side)].children[i % side] as HTMLElement;
    el.textContent = c.text;
    el.className = ["cell", ...c.classes].join(" ");
    el.setAttribute("aria-label", c.label);
    if (c.confidence === undefined) el.style.removeProperty("--p");
    else el.style.setProperty("--p", String(c.confidence));
  });
}

/** The `i`th cell's place in words, row and column counted from 1. */
export const place = (i: number, side: number) => `row ${Math.floor(i / side) + 1}, column ${(i % side) + 1}`;

/** " 93 % sure" for a confidence, "" without one. */
export const sure = (p: number | undefined) => (p === undefined ? "" : `, ${Math.round(p * 100)} % sure`);
