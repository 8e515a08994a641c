/** Building the page from elements (never from HTML strings, so data can never become markup). */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends the children that are there (a page's optional parts are null or false). */
export function append(parent: Element, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'object' ? child : String(child));
  }
}

/** A table inside a scrolling box, so a wide table never widens the page on a phone. */
export function table(caption: string, head: string[], rows: Child[][], attributes: Attributes = {}): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', attributes, h('caption', {}, caption), h('thead', {}, h('tr', {}, head.map((name) => h('th', { scope: 'col' }, name)))), h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell)))))),
  );
}

/** A message for the user in place of a page's content (loading failed, nothing to show). */
export const notice = (text: string, role: 'status' | 'alert' = 'status') => h('p', { class: `notice ${role}`, role }, text);

/** The page's heading, focused after navigation so a screen reader announces the new page. */
export const heading = (text: string) => h('h1', { tabindex: -1 }, text);

export function field(label: string, control: HTMLElement): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}
