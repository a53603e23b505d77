// The service calendar (city admins edit it; other admins read it): holidays and vacations close
// the service window, weekend make-up school days (调休) open it.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { serviceDay, addDays } from '../dates.js';

export default async function calendar(view, { app }) {
  const canEdit = app.me.role === 'city_admin';
  const from = serviceDay();
  const to = addDays(from, 365);
  const list = h('div', { id: 'calendar-days' });
  const error = h('p.error', { role: 'alert' });
  const load = async () => {
    const days = await api(`/api/calendar?from=${from}&to=${to}`);
    if (!days.length) { clear(list, h('p.muted', { id: 'no-days' }, t('calendar.none'))); return; }
    clear(list, h('div.table-wrap', {}, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, t('calendar.day')), h('th', {}, t('calendar.kind')), h('th', {}, t('calendar.note')), canEdit ? h('th', {}, '') : null)),
      h('tbody', {}, days.map((d) => h('tr', { dataset: { day: d.day } }, h('td', {}, d.day), h('td', {}, t(d.is_service_day ? 'calendar.open' : 'calendar.closed')), h('td', {}, d.note),
        canEdit ? h('td', {}, h('button', { type: 'button', class: 'remove', onclick: async () => {
          try { await api(`/api/calendar/${d.day}`, { method: 'DELETE' }); await load(); } catch (e) { error.textContent = errorText(e); }
        } }, t('calendar.remove'))) : null))))));
  };
  view.append(h('h1', {}, t('calendar.title')), h('p.muted', {}, t('calendar.intro')));
  if (canEdit) {
    const day = h('input', { type: 'date', id: 'calendar-day', required: true, value: from });
    const kind = h('select', { id: 'calendar-kind' }, h('option', { value: 'closed' }, t('calendar.closed')), h('option', { value: 'open' }, t('calendar.open')));
    const note = h('input', { type: 'text', id: 'calendar-note', maxlength: 100, placeholder: t('calendar.note_hint') });
    view.append(h('form.card', { id: 'calendar-form', onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      try {
        await api(`/api/calendar/${day.value}`, { method: 'PUT', json: { is_service_day: kind.value === 'open', note: note.value.trim() } });
        note.value = '';
        await load();
      } catch (err) { error.textContent = errorText(err); }
    } }, h('label', { for: 'calendar-day' }, t('calendar.day')), day, h('label', { for: 'calendar-kind' }, t('calendar.kind')), kind,
    h('label', { for: 'calendar-note' }, t('calendar.note')), note, error, h('div.row', {}, h('button.primary', { type: 'submit', id: 'calendar-submit' }, t('calendar.save')))));
  }
  view.append(h('section.card', {}, h('h2', {}, t('calendar.upcoming')), list));
  await load();
}
