// A table of rows for the statistics pages: `cols` is [[key, label key], …]; a missing value shows "—".
import { h } from './dom.js';
import { t } from './i18n.js';

export function dataTable(rows, cols, attrs = {}) {
  return h('div.table-wrap', {}, h('table', attrs, h('thead', {}, h('tr', {}, cols.map(([, label]) => h('th', {}, t(label))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map(([k]) => h('td', {}, r[k] ?? '—')))))));
}
