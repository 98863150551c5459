// The colour theme (auto, light, dark; kept in localStorage) and the colours of the power series.
import { $ } from './format.js';

export const SERIES_COLORS = { grid: '#6b7cff', pv: '#e0a100', battery: '#1f9d55', ev: '#b04ac9', house: '#e4572e' };

const THEMES = ['auto', 'light', 'dark'];
const KEY = 'wattstream-theme';

function applyTheme(theme) {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('theme').setAttribute('aria-label', `Colour theme: ${theme === 'auto' ? 'follows the system' : theme}`);
  $('theme').textContent = theme === 'auto' ? '◐' : theme === 'light' ? '☀' : '☾';
}

export function initTheme() {
  applyTheme(localStorage.getItem(KEY) ?? 'auto');
  $('theme').addEventListener('click', () => {
    const next = THEMES[(THEMES.indexOf(localStorage.getItem(KEY) ?? 'auto') + 1) % THEMES.length];
    localStorage.setItem(KEY, next);
    applyTheme(next);
  });
}
