// Links from the hot-spot figures to the micro-lessons on those knowledge points.
import { api } from './api.js';
import { h, clear } from './dom.js';
import { t } from './i18n.js';

/** A list under the hot-spot chart: each hot knowledge point that has lessons links to them. */
export function hotLessonLinks(rows) {
  const box = h('p.hot-lessons', { id: 'hot-lessons' });
  const ids = rows.map((r) => r.knowledge_point_id);
  if (!ids.length) return box;
  api(`/api/lessons/by-knowledge-point?ids=${ids.join(',')}`).then((counts) => {
    const linked = rows.filter((r) => counts[r.knowledge_point_id]);
    if (!linked.length) return;
    clear(box, t('lessons.hot_links'), ' ', linked.map((r) => h('a.pill', { href: `#/lessons?subject=${r.subject}&kp=${r.knowledge_point_id}` },
      t('lessons.hot_link', { name: r.name, n: counts[r.knowledge_point_id] }))));
  }).catch(() => { /* the figures stand without the links */ });
  return box;
}
