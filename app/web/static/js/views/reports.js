// Admins: reported sessions of students in their scope, each with its transcript as typed
// (before masking, flagged lines marked), and the decision: dismiss, or suspend the reported account.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime } from '../i18n.js';

async function transcript(sessionId) {
  const items = await api(`/api/sessions/${sessionId}/transcript`);
  const chat = items.filter((i) => i.kind === 'chat');
  if (!chat.length) return h('p.muted', {}, t('reports.no_chat'));
  return h('ul.chat-log.record', { 'aria-label': t('reports.transcript') }, chat.map((i) => h(`li${i.flagged ? '.flagged' : ''}`, {},
    h('span.meta', {}, `#${i.sender_id} · ${formatTime(i.at)}${i.flagged ? ` · ${t('reports.flagged')}` : ''}`), h('br'), i.raw ?? (i.body || {}).text)));
}

export default async function reports(view) {
  const status = h('select', { id: 'reports-status' }, ['open', 'actioned', 'dismissed'].map((v) => h('option', { value: v }, t(`reports.status_${v}`))));
  const list = h('div', { id: 'reports' });
  const load = async () => {
    clear(list, h('p.muted', {}, t('common.loading')));
    try {
      const rows = await api(`/api/reports?status=${status.value}`);
      if (!rows.length) { clear(list, h('p.muted', { id: 'no-reports' }, t('reports.none'))); return; }
      clear(list, await Promise.all(rows.map(async (r) => {
        const note = h('input', { type: 'text', maxlength: 500, id: `note-${r.id}`, placeholder: t('reports.note_hint') });
        const error = h('p.error', { role: 'alert' });
        const card = h('article.card', { dataset: { report: r.id } });
        const decide = async (action) => {
          if (note.value.trim().length < 2) { error.textContent = t('reports.need_note'); note.focus(); return; }
          try {
            await api(`/api/reports/${r.id}/decision`, { method: 'POST', json: { action, note: note.value.trim() } });
            clear(card, h('p.notice', {}, t(action === 'suspend' ? 'reports.suspended' : 'reports.dismissed', { id: r.reported_id })));
          } catch (e) { error.textContent = errorText(e); }
        };
        const body = [h('p', {}, h('b', {}, t('reports.line', { session: r.session_id, reporter: r.reporter_id, reported: r.reported_id })),
          ' · ', formatTime(r.created_at)), h('p', {}, t('reports.reason'), ' ', r.reason)];
        try { body.push(await transcript(r.session_id)); } catch (e) { body.push(h('p.error', {}, errorText(e))); }
        if (r.status === 'open') {
          body.push(h('label', { for: `note-${r.id}` }, t('reports.note')), note, error,
            h('div.row', {}, h('button', { type: 'button', class: 'dismiss', onclick: () => decide('dismiss') }, t('reports.dismiss')),
              h('button.danger', { type: 'button', class: 'suspend', onclick: () => decide('suspend') }, t('reports.suspend'))));
        }
        card.append(...body);
        return card;
      })));
    } catch (e) { clear(list, h('p.error', {}, errorText(e))); }
  };
  status.addEventListener('change', load);
  view.append(h('h1', {}, t('reports.title')), h('div.row', {}, h('label', { for: 'reports-status' }, t('reports.show')), status), list);
  await load();
}
