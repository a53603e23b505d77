// Admins: every report in their scope in one list — reported sessions with their transcript as
// typed (before masking, flagged lines marked), and reported Q&A questions, answers and replies
// with the text as typed — and the decisions each allows (the server says which: `actions`).
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

function qaItem(r) {
  return [h('p', {}, h('b', {}, t(`reports.qa_line_${r.target}`, { question: r.question_id, reporter: r.reporter_id, reported: r.reported_id })),
    ' · ', formatTime(r.created_at), ' · ', h('a', { href: `#/qa/${r.question_id}` }, t('reports.open_question'))),
  h('p', {}, t('reports.reason'), ' ', r.reason),
  h('blockquote', { 'aria-label': t('reports.as_typed') }, r.excerpt),
  h('p.muted.hidden-state', {}, t(r.hidden ? 'reports.item_hidden' : 'reports.item_shown'))];
}

const DONE = { dismiss: 'reports.dismissed', suspend: 'reports.suspended', hide: 'reports.hidden', restore: 'reports.restored' };

export default async function reports(view) {
  const status = h('select', { id: 'reports-status' }, ['open', 'actioned', 'dismissed'].map((v) => h('option', { value: v }, t(`reports.status_${v}`))));
  const kind = h('select', { id: 'reports-kind' }, ['', 'session', 'qa'].map((v) => h('option', { value: v }, t(`reports.kind_${v || 'all'}`))));
  const list = h('div', { id: 'reports' });
  let shown = 0; // the latest load: an earlier one that answers late must not replace it
  const load = async () => {
    const mine = ++shown;
    clear(list, h('p.muted', {}, t('common.loading')));
    try {
      const rows = await api(`/api/reports?status=${status.value}${kind.value ? `&kind=${kind.value}` : ''}`);
      if (mine !== shown) return;
      if (!rows.length) { clear(list, h('p.muted', { id: 'no-reports' }, t('reports.none'))); return; }
      const cards = await Promise.all(rows.map(async (r) => {
        const key = `${r.kind}-${r.id}`;
        const note = h('input', { type: 'text', maxlength: 500, id: `note-${key}`, placeholder: t('reports.note_hint') });
        const error = h('p.error', { role: 'alert' });
        const card = h('article.card', { dataset: { report: r.id, kind: r.kind } });
        const decide = async (action) => {
          if (note.value.trim().length < 2) { error.textContent = t('reports.need_note'); note.focus(); return; }
          try {
            await api(`/api/reports/${r.kind}/${r.id}/decision`, { method: 'POST', json: { action, note: note.value.trim() } });
            clear(card, h('p.notice', {}, t(DONE[action], { id: r.reported_id })));
          } catch (e) { error.textContent = errorText(e); }
        };
        let body;
        if (r.kind === 'session') {
          body = [h('p', {}, h('b', {}, t('reports.line', { session: r.session_id, reporter: r.reporter_id, reported: r.reported_id })),
            ' · ', formatTime(r.created_at)), h('p', {}, t('reports.reason'), ' ', r.reason)];
          try { body.push(await transcript(r.session_id)); } catch (e) { body.push(h('p.error', {}, errorText(e))); }
        } else {
          body = qaItem(r);
        }
        if (r.note) body.push(h('p.muted', {}, t('reports.decided_note'), ' ', r.note));
        if (r.actions.length) {
          body.push(h('label', { for: `note-${key}` }, t('reports.note')), note, error,
            h('div.row', {}, r.actions.map((action) => h(`button.${action}${action === 'suspend' ? '.danger' : ''}`,
              { type: 'button', onclick: () => decide(action) }, t(`reports.${action}${r.kind === 'qa' && action === 'suspend' ? '_qa' : ''}`)))));
        }
        card.append(...body);
        return card;
      }));
      if (mine === shown) clear(list, cards);
    } catch (e) { if (mine === shown) clear(list, h('p.error', {}, errorText(e))); }
  };
  status.addEventListener('change', load);
  kind.addEventListener('change', load);
  view.append(h('h1', {}, t('reports.title')),
    h('div.row', {}, h('label', { for: 'reports-status' }, t('reports.show')), status, h('label', { for: 'reports-kind' }, t('reports.kind')), kind), list);
  await load();
}
