// Admins: the accounts of their schools — find a student or tutor, reset a forgotten password
// (the new one is shown once, to hand over), suspend with a reason, reinstate.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText } from '../i18n.js';

export default async function people(view) {
  const q = h('input', { type: 'search', id: 'people-q', maxlength: 64, placeholder: t('people.search_hint') });
  const role = h('select', { id: 'people-role' }, h('option', { value: '' }, t('people.any_role')),
    ['student', 'tutor', 'school_admin'].map((r) => h('option', { value: r }, t(`role.${r}`))));
  const list = h('div', { id: 'people' });
  const search = async () => {
    const qs = new URLSearchParams({ q: q.value.trim() });
    if (role.value) qs.set('role', role.value);
    clear(list, h('p.muted', {}, t('common.loading')));
    try {
      const rows = await api(`/api/accounts?${qs}`);
      if (!rows.length) { clear(list, h('p.muted', { id: 'no-people' }, t('people.none'))); return; }
      clear(list, h('div.table-wrap', {}, h('table', {}, h('thead', {}, h('tr', {}, ['people.username', 'people.name', 'people.role', 'people.status', 'people.actions'].map((k) => h('th', {}, t(k))))),
        h('tbody', {}, rows.map(row)))));
    } catch (e) { clear(list, h('p.error', {}, errorText(e))); }
  };
  const row = (a) => {
    const out = h('div', { role: 'status' });
    const status = h('td', {}, a.status === 'suspended' ? t('people.suspended', { reason: a.suspended_reason || '' }) : t('people.active'));
    const act = async (fn) => { clear(out); try { await fn(); } catch (e) { clear(out, h('p.error', {}, errorText(e))); } };
    const reset = h('button', { type: 'button', class: 'reset', onclick: () => act(async () => {
      if (!confirm(t('people.reset_confirm', { name: a.real_name }))) return;
      const r = await api(`/api/accounts/${a.id}/password-reset`, { method: 'POST' });
      clear(out, h('p.notice', {}, t('people.new_password', { username: r.username }), ' ', h('code.new-password', {}, r.password)));
    }) }, t('people.reset'));
    const reason = h('input', { type: 'text', maxlength: 500, placeholder: t('people.reason_hint'), 'aria-label': t('people.reason_hint') });
    const toggle = h('button', { type: 'button', class: a.status === 'suspended' ? 'reinstate' : 'suspend danger', onclick: () => act(async () => {
      if (a.status === 'suspended') {
        Object.assign(a, await api(`/api/accounts/${a.id}/reinstate`, { method: 'POST' }));
      } else {
        if (reason.value.trim().length < 2) { clear(out, h('p.error', {}, t('people.need_reason'))); reason.focus(); return; }
        Object.assign(a, await api(`/api/accounts/${a.id}/suspend`, { method: 'POST', json: { reason: reason.value.trim() } }));
      }
      tr.replaceWith(row(a));
    }) }, a.status === 'suspended' ? t('people.reinstate') : t('people.suspend'));
    const tr = h('tr', { dataset: { user: a.id } }, h('td', {}, a.username), h('td', {}, a.real_name), h('td', {}, t(`role.${a.role}`)), status,
      h('td', {}, h('div.row', {}, reset, a.status === 'suspended' ? null : reason, toggle), out));
    return tr;
  };
  view.append(h('h1', {}, t('people.title')),
    h('form.card.row', { role: 'search', onsubmit: (e) => { e.preventDefault(); search(); } },
      h('label', { for: 'people-q' }, t('people.search')), q, h('label', { for: 'people-role' }, t('people.role')), role,
      h('button.primary', { type: 'submit', id: 'people-submit' }, t('people.find'))), list);
  await search();
}
