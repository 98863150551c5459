// Formatting and DOM helpers every view uses; nothing here keeps state.

export const $ = (id) => document.getElementById(id);

// A value that rounds to zero shows as 0.00, never -0.00 (a small export or credit is not a negative nothing).
export const fixed = (v, d = 1) => (v == null ? '–' : Number(v).toFixed(d).replace(/^-(0(\.0*)?)$/, '$1'));
export const kw = (w) => (w == null ? '–' : fixed(w / 1000, 2));
export const percent = (v) => (v == null ? '–' : `${Math.round(v * 100)} %`);
export const timeText = (t) => new Date(t).toLocaleTimeString();

// Everything from the network goes into the page as text, never as markup: an id like
// `<img src=x onerror=…>` is shown, not run.
export function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text == null ? '' : String(text);
  return el;
}

// Marks the one button of a group that is pressed.
export function pressOnly(selector, pressed) {
  for (const o of document.querySelectorAll(selector)) o.setAttribute('aria-pressed', String(o === pressed));
}
