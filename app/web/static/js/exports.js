// Download buttons for any statistics table: the service answers ?format=csv|xlsx with a file.
import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

async function download(path, params, format) {
  const blob = await api(`${path}?${new URLSearchParams({ ...params, format })}`, { blob: true });
  const a = h('a', { href: URL.createObjectURL(blob), download: `${path.split('/').pop()}_${params.from}_${params.to}.${format}` });
  document.body.append(a);
  a.click();
  a.remove();
}

export function exportButtons(path, params) {
  return h('span.row', {}, ['csv', 'xlsx'].map((f) => h('button', { type: 'button', class: `export-${f}`, onclick: () => download(path, params, f) }, t(`dash.export_${f}`))));
}
