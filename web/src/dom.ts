// Small DOM helpers. Text always goes in through textContent or properties: no markup is ever built from data.

type Child = Node | string | null | undefined | false;

export interface ElementProps {
  class?: string;
  text?: string;
  title?: string;
  testid?: string;
  hidden?: boolean;
  attrs?: Record<string, string>;
  data?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title) e.title = props.title;
  if (props.testid) e.dataset.testid = props.testid;
  if (props.hidden) e.hidden = true;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) e.setAttribute(k, v);
  if (props.data) for (const [k, v] of Object.entries(props.data)) e.dataset[k] = v;
  if (props.on) {
    for (const [type, fn] of Object.entries(props.on)) e.addEventListener(type, fn as EventListener);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html lacks #${id}`);
  return e as T;
}

// Rendering runs up to 60 times a second over hundreds of cells: writing only what changed keeps the browser from
// relaying out text that is the same.
const lastText = new WeakMap<Node, string>();
const lastClass = new WeakMap<Element, string>();

export function setText(e: Node, text: string): void {
  if (lastText.get(e) !== text) {
    lastText.set(e, text);
    e.textContent = text;
  }
}

export function setClass(e: Element, cls: string): void {
  if (lastClass.get(e) !== cls) {
    lastClass.set(e, cls);
    e.className = cls;
  }
}

/** A button with type="button" (a bare <button> in a form would submit it). */
export function button(text: string, props: ElementProps = {}, onClick?: () => void): HTMLButtonElement {
  const b = h('button', { class: 'btn', ...props, text });
  b.type = 'button';
  if (onClick) b.addEventListener('click', onClick);
  return b;
}

/** A labelled form control: `<label>text <control></label>`. */
export function labelled(text: string, control: HTMLElement, cls = 'field'): HTMLLabelElement {
  return h('label', { class: cls }, [h('span', { text }), control]);
}

export function input(type: string, props: ElementProps & { value?: string; step?: string; min?: string } = {}): HTMLInputElement {
  const i = h('input', props);
  i.type = type;
  if (props.value !== undefined) i.value = props.value;
  if (props.step !== undefined) i.step = props.step;
  if (props.min !== undefined) i.min = props.min;
  return i;
}

export function select(options: readonly (readonly [value: string, label: string])[], props: ElementProps = {}): HTMLSelectElement {
  const s = h('select', props);
  setOptions(s, options);
  return s;
}

export function setOptions(s: HTMLSelectElement, options: readonly (readonly [value: string, label: string])[]): void {
  const keep = s.value;
  s.replaceChildren(...options.map(([value, label]) => h('option', { text: label, attrs: { value } })));
  if (options.some(([value]) => value === keep)) s.value = keep;
}

/**
 * Hands `text` to the browser as a file download. The node's CSV routes need the bearer token, so they cannot be
 * plain links: the answer is read by script and given over as a blob URL.
 */
export function downloadText(fileName: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { attrs: { href: url, download: fileName } });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
