// Small form builders the task views share: every control gets a label.

let ids = 0;

export function field(container: HTMLElement, labelText: string, control: HTMLElement): HTMLElement {
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.textContent = labelText;
  control.id ||= `control-${++ids}`;
  label.htmlFor = control.id;
  wrap.append(label, control);
  container.append(wrap);
  return control;
}

export function select(options: string[]): HTMLSelectElement {
  const el = document.createElement("select");
  el.append(...options.map((text, i) => new Option(text, String(i))));
  return el;
}

export function button(text: string, onClick: () => void): HTMLButtonElement {
  const el = document.createElement("button");
  el.type = "button";
  el.textContent = text;
  el.addEventListener("click", onClick);
  return el;
}

/** A seed for "Generate", from the browser's random source. */
export const freshSeed = () => crypto.getRandomValues(new Uint32Array(1))[0];
