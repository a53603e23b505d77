// A past session, read again: what was said (with who and when), the photos, the board as it was
// left; and, from here, reporting the session or (a student) blocking the tutor.
import { api, imageUrl } from '../api.js';
import { Board } from '../board.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime, formatDuration, subjectName } from '../i18n.js';
import { onLeave } from '../nav.js';

const clock = (iso) => new Date(iso).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export default async function record(view, { params, app }) {
  const sessionId = Number(params[0]);
  const me = app.me;
  const [s, items, subjects] = await Promise.all([api(`/api/sessions/${sessionId}`), api(`/api/sessions/${sessionId}/transcript`), api('/api/subjects')]);
  const names = Object.fromEntries(subjects.map((x) => [x.code, subjectName(x)]));
  const who = (id) => (id === me.id ? t('record.me') : id === s.tutor_id ? t('record.tutor') : id === s.student_id ? t('record.student') : t('record.system'));

  const log = h('ul.chat-log.record', { id: 'record-chat', 'aria-label': t('chat.label') });
  const images = h('div.shared', { id: 'record-images' });
  const canvas = h('canvas', { id: 'record-board', role: 'img', 'aria-label': t('board.label') });
  const board = new Board(canvas, { readOnly: true });
  onLeave(() => board.destroy());
  for (const item of items) {
    const b = item.body || {};
    if (item.kind === 'chat') {
      log.append(h(`li.${item.sender_id === me.id ? 'me' : 'them'}`, {}, h('span.meta', {}, `${who(item.sender_id)} · ${clock(item.at)}`), h('br'), b.text));
    } else if (item.kind === 'stroke') board.replay(b, item.sender_id === me.id ? 'me' : item.sender_id);
    else if (item.kind === 'board') board.remoteAction({ ...b, from: item.sender_id === me.id ? 'me' : item.sender_id });
    else if (item.kind === 'image' && b.url) {
      const img = h('img', { alt: t('session.shared_image') });
      images.append(img);
      imageUrl(b.url).then((u) => { img.src = u; }).catch(() => {});
    }
  }
  if (!log.children.length) log.append(h('li.sys', {}, t('record.no_chat')));

  const actions = h('div', { id: 'record-actions' });
  const note = h('div', { role: 'status' });
  const reason = h('textarea', { id: 'report-reason', maxlength: 500, placeholder: t('record.report_hint') });
  const report = h('form.card', { id: 'report-form', onsubmit: async (e) => {
    e.preventDefault();
    if (reason.value.trim().length < 2) { clear(note, h('p.error', {}, t('record.report_need'))); return; }
    try {
      await api(`/api/sessions/${sessionId}/report`, { method: 'POST', json: { reason: reason.value.trim() } });
      clear(report, h('p.notice', { id: 'report-done' }, t('record.reported')));
    } catch (err) { clear(note, h('p.error', {}, errorText(err))); }
  } }, h('h2', {}, t('record.report')), h('label', { for: 'report-reason' }, t('record.report_reason')), reason, note,
  h('div.row', {}, h('button.danger', { type: 'submit', id: 'report-submit' }, t('record.report_submit'))));
  actions.append(report);
  if (me.role === 'student') {
    const blockNote = h('p', { role: 'status' });
    const blockButton = h('button', { type: 'button', id: 'block-tutor', onclick: async () => {
      if (!confirm(t('record.block_confirm'))) return;
      try {
        await api(`/api/tutors/${s.tutor_id}/block`, { method: 'POST' });
        blockButton.disabled = true;
        blockNote.textContent = t('record.blocked');
      } catch (err) { blockNote.textContent = errorText(err); }
    } }, t('record.block'));
    actions.append(h('section.card', {}, h('h2', {}, t('record.block_title')), h('p.muted', {}, t('record.block_hint')), blockButton, blockNote));
  }

  view.append(h('h1', {}, t('record.title')),
    h('p.card', { id: 'record-summary' }, t('record.summary', {
      when: formatTime(s.live_at || s.matched_at), subject: names[s.subject] || s.subject,
      duration: s.duration_s != null ? formatDuration(s.duration_s) : '—', end: s.end_reason ? t(`end.${s.end_reason}`) : t(`state.${s.state}`) }),
    s.rating ? ` · ${'★'.repeat(s.rating)}` : ''),
    h('div.session', {},
      h('section', { 'aria-label': t('board.label') }, h('h2', {}, t('record.board')), h('div.board-wrap', {}, canvas)),
      h('section', {}, h('h2', {}, t('chat.title')), log, h('h2', {}, t('session.images')), images)),
    actions);
}
