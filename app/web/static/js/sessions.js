// The table of one-to-one sessions that students (我的辅导) and tutors (辅导记录) both read.
import { h } from './dom.js';
import { t, formatTime, formatDuration } from './i18n.js';

export const when = (s) => s.live_at || s.matched_at;
/** Newest first by when the session happened (ids follow the request, not the session's time). */
export const byNewest = (sessions) => [...sessions].sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : b.id - a.id));

/** `tutor`: a column naming the tutor (the student's history; a tutor's own list needs none). */
export function sessionsTable(sessions, subjects, { tutor = false } = {}) {
  if (!sessions.length) return h('p.muted', { id: 'no-sessions' }, t('history.none'));
  const heads = ['history.when', 'history.subject', ...(tutor ? ['history.tutor'] : []), 'history.duration', 'history.end', 'history.rating'];
  return h('div.table-wrap', {}, h('table', { id: 'sessions' },
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', {}, t(k))))),
    h('tbody', {}, byNewest(sessions).map((s) => h('tr', { dataset: { session: s.id } },
      // An ended session opens its record: the chat, photos and board, and reporting it.
      h('td', {}, s.state === 'ended' ? h('a.record', { href: `#/record/${s.id}` }, formatTime(when(s))) : formatTime(when(s))),
      h('td', {}, subjects[s.subject] || s.subject),
      tutor ? h('td', {}, s.tutor_name || '—') : null,
      h('td', {}, s.duration_s != null ? formatDuration(s.duration_s) : '—'),
      h('td', {}, s.end_reason ? t(`end.${s.end_reason}`) : t(`state.${s.state}`)),
      h('td', {}, s.rating ? '★'.repeat(s.rating) : '—'))))));
}
