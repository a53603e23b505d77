// The table of one-to-one sessions that students (我的辅导) and tutors (辅导记录) both read.
import { h } from './dom.js';
import { t, formatTime, formatDuration } from './i18n.js';

export const when = (s) => s.live_at || s.matched_at;
/** Newest first by when the session happened (ids follow the request, not the session's time). */
export const byNewest = (sessions) => [...sessions].sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : b.id - a.id));

export function sessionsTable(sessions, subjects) {
  if (!sessions.length) return h('p.muted', { id: 'no-sessions' }, t('history.none'));
  return h('div.table-wrap', {}, h('table', { id: 'sessions' },
    h('thead', {}, h('tr', {}, ['history.when', 'history.subject', 'history.duration', 'history.end', 'history.rating'].map((k) => h('th', {}, t(k))))),
    h('tbody', {}, byNewest(sessions).map((s) => h('tr', { dataset: { session: s.id } },
      // An ended session opens its record: the chat, photos and board, and reporting it.
      h('td', {}, s.state === 'ended' ? h('a.record', { href: `#/record/${s.id}` }, formatTime(when(s))) : formatTime(when(s))),
      h('td', {}, subjects[s.subject] || s.subject),
      h('td', {}, s.duration_s != null ? formatDuration(s.duration_s) : '—'),
      h('td', {}, s.end_reason ? t(`end.${s.end_reason}`) : t(`state.${s.state}`)),
      h('td', {}, s.rating ? '★'.repeat(s.rating) : '—'))))));
}
