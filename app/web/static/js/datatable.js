// A table of rows for the statistics pages: `cols` is [[key, label key, cell tag?], …] (the tag, e.g. 'td.views',
// lets a test or a style find a column); `rowAttrs(row)` gives each <tr> its attributes (e.g. a dataset naming
// the row's record); a missing value shows "—".
import { h } from './dom.js';
import { t } from './i18n.js';

export function dataTable(rows, cols, attrs = {}, rowAttrs = () => ({})) {
  return h('div.table-wrap', {}, h('table', attrs, h('thead', {}, h('tr', {}, cols.map(([, label]) => h('th', {}, t(label))))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs(r), cols.map(([k, , tag]) => h(tag || 'td', {}, r[k] ?? '—')))))));
}
