// Download buttons for any statistics table: the service answers ?format=csv|xlsx with a file.
import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { addDays } from './dates.js';

// The file says its period with both ends included, as a reader expects: 2026-11-01_2026-11-30.
export function fileName(path, params, format) {
  const period = params.from && params.to ? `_${params.from}_${addDays(params.to, -1)}` : '';
  return `${path.split('/').pop()}${period}.${format}`;
}

async function download(path, params, format) {
  const blob = await api(`${path}?${new URLSearchParams({ ...params, format })}`, { blob: true });
  const a = h('a', { href: URL.createObjectURL(blob), download: fileName(path, params, format) });
  document.body.append(a);
  a.click();
  a.remove();
}

export function exportButtons(path, params) {
  return h('span.row', {}, ['csv', 'xlsx'].map((f) => h('button', { type: 'button', class: `export-${f}`, onclick: () => download(path, params, f) }, t(`dash.export_${f}`))));
}
