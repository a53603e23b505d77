// Admins: tutor applications waiting for their level, and roster CSV imports.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime, subjectName } from '../i18n.js';

export default async function admin(view, { app }) {
  const [queue, subjects] = await Promise.all([api('/api/tutors/applications'), api('/api/subjects')]);
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  view.append(h('h1', {}, t('admin.title', { role: t(`role.${app.me.role}`) })));

  // --- applications
  const list = h('div', { id: 'applications' });
  const paint = () => {
    if (!queue.length) { clear(list, h('p.muted', {}, t('admin.no_applications'))); return; }
    clear(list, queue.map((a) => {
      const error = h('p.error', { role: 'alert' });
      const reasonId = `reason-${a.tutor_id}`;
      const reason = h('input', { type: 'text', id: reasonId, maxlength: 500, placeholder: t('admin.reason_hint') });
      const done = (msg) => { queue.splice(queue.indexOf(a), 1); paint(); list.prepend(h('p.notice', { role: 'status' }, msg)); };
      const decide = async (action) => {
        error.textContent = '';
        if (action === 'reject' && reason.value.trim().length < 2) { error.textContent = t('admin.need_reason'); reason.focus(); return; }
        try {
          await api(`/api/tutors/applications/${a.tutor_id}/${action}`, { method: 'POST', json: action === 'reject' ? { reason: reason.value.trim() } : { reason: reason.value.trim() || null } });
          done(t(action === 'approve' ? 'admin.approved' : 'admin.rejected', { name: a.real_name }));
        } catch (e) { error.textContent = errorText(e); }
      };
      return h('article.card', { dataset: { tutor: a.tutor_id } },
        h('p', {}, h('b', {}, a.real_name), ` (${a.username}) · ${t(`title.${a.title}`)} · ${t('admin.submitted', { at: formatTime(a.submitted_at) })}`),
        h('p', {}, a.subjects.map((c) => h('span.pill', {}, names[c] || c)), a.grade_bands.map((b) => h('span.pill', {}, t(`band.${b}`)))),
        a.fields ? h('p.muted', {}, a.fields) : null, a.bio ? h('p', {}, a.bio) : null,
        h('label', { for: reasonId }, t('admin.reason')), reason, error,
        h('div.row', {}, h('button.primary', { type: 'button', onclick: () => decide('approve') }, t('admin.approve')),
          h('button.danger', { type: 'button', onclick: () => decide('reject') }, t('admin.reject'))));
    }));
  };
  paint();

  // --- roster import
  const kinds = app.me.role === 'school_admin' ? ['classes', 'students', 'tutors'] : ['districts', 'schools', 'classes', 'students', 'tutors'];
  const kind = h('select', { id: 'roster-kind' }, kinds.map((k) => h('option', { value: k }, t(`roster.${k}`))));
  const file = h('input', { type: 'file', id: 'roster-file', accept: '.csv,text/csv', required: true });
  const dry = h('input', { type: 'checkbox', id: 'roster-dry' });
  const result = h('div', { id: 'roster-result', 'aria-live': 'polite' });
  const form = h('form.card', { onsubmit: async (e) => {
    e.preventDefault();
    clear(result);
    if (!file.files[0]) { clear(result, h('p.error', {}, t('roster.need_file'))); return; }
    const body = new FormData();
    body.append('file', file.files[0]);
    try {
      const r = await api(`/api/rosters/${kind.value}?dry_run=${dry.checked}`, { method: 'POST', form: body });
      clear(result, h('p.notice', {}, t(r.dry_run ? 'roster.checked' : 'roster.imported', { rows: r.rows, created: r.created })));
      if (r.credentials && r.credentials.length) {
        result.append(h('p.warn', {}, t('roster.credentials_once')), h('div.table-wrap', {}, h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, t('roster.username')), h('th', {}, t('roster.password')))),
          h('tbody', {}, r.credentials.map((c) => h('tr', {}, h('td', {}, c.username), h('td', {}, c.password)))))));
      }
    } catch (err) {
      clear(result, h('p.error', {}, errorText(err)));
      if (err.extra && err.extra.errors) {
        result.append(h('div.table-wrap', {}, h('table', { id: 'roster-errors' },
          h('thead', {}, h('tr', {}, h('th', {}, t('roster.line')), h('th', {}, t('roster.column')), h('th', {}, t('roster.error')))),
          h('tbody', {}, err.extra.errors.map((x) => h('tr', {}, h('td', {}, x.line), h('td', {}, x.column ?? ''), h('td', {}, x.error)))))));
      }
    }
  } }, h('label', { for: 'roster-kind' }, t('roster.kind')), kind, h('label', { for: 'roster-file' }, t('roster.file')), file,
  h('label', { style: 'font-weight:400' }, dry, ' ', t('roster.dry_run')), h('p.muted', {}, t('roster.hint')),
  h('div.row', {}, h('button.primary', { type: 'submit', id: 'roster-submit' }, t('roster.submit'))), result);

  view.append(h('div.two', {}, h('section', {}, h('h2', {}, t('admin.applications')), list), h('section', {}, h('h2', {}, t('roster.title')), form)));
}
