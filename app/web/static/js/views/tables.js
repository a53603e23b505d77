// Admins' tables beside the dashboard: the online rate by role and stage, tutors' workload and a
// district's payroll — each for a period of Beijing days (both ends included) and downloadable.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { exportButtons } from '../exports.js';
import { dataTable } from '../datatable.js';
import { serviceDay, addDays, monthStart } from '../dates.js';

function table(id, rows, cols) {
  return rows.length ? dataTable(rows, cols, { id }) : h('p.muted', {}, t('tables.empty'));
}

export default async function tables(view, { app }) {
  const today = serviceDay();
  const fromInput = h('input', { type: 'date', id: 'tables-from', value: monthStart(today) });
  const toInput = h('input', { type: 'date', id: 'tables-to', value: today });
  const schools = await api('/api/schools');
  const districts = [...new Map(schools.map((s) => [s.district_id, s.district_name])).entries()];
  const district = h('select', { id: 'tables-district' }, districts.map(([id, name]) => h('option', { value: id }, name)));
  if (app.me.district_id) district.value = String(app.me.district_id);
  const body = h('div', { id: 'tables' });
  const load = async () => {
    const params = { from: fromInput.value, to: addDays(toInput.value, 1) };
    const qs = new URLSearchParams(params);
    clear(body, h('p.muted', {}, t('common.loading')));
    try {
      const [online, workload, payroll] = await Promise.all([
        api(`/api/stats/online-rate?${qs}`), api(`/api/stats/tutors?${qs}`),
        district.value ? api(`/api/stats/payroll?${qs}&district_id=${district.value}`) : Promise.resolve(null)]);
      const payParams = { ...params, district_id: district.value };
      clear(body,
        h('section.card', {}, h('h2', {}, t('tables.online')), exportButtons('/api/stats/online-rate', params),
          table('online-rate', online.rows, [['group', 'tables.group'], ['online', 'tables.online_users'], ['registered', 'tables.registered'], ['rate', 'tables.rate']])),
        h('section.card', {}, h('h2', {}, t('tables.workload')), exportButtons('/api/stats/tutors', params),
          table('workload', workload.rows, [['name', 'tables.tutor'], ['sessions', 'tables.sessions'], ['live_minutes', 'tables.minutes'], ['classes', 'tables.classes'],
            ['answers', 'tables.answers'], ['lessons', 'tables.lessons'], ['lesson_views', 'tables.lesson_views'],
            ['average_rating', 'tables.rating'], ['points', 'tables.points']])),
        payroll ? h('section.card', {}, h('h2', {}, t('tables.payroll', { district: payroll.district, value: payroll.point_value_cny })), exportButtons('/api/stats/payroll', payParams),
          table('payroll', payroll.tutors, [['name', 'tables.tutor'], ['entries', 'tables.entries'], ['points', 'tables.points'], ['amount_cny', 'tables.amount']])) : null);
    } catch (e) { clear(body, h('p.error', {}, errorText(e))); }
  };
  view.append(h('h1', {}, t('tables.title')),
    h('form.card.row', { onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', { for: 'tables-from' }, t('dash.from')), fromInput, h('label', { for: 'tables-to' }, t('dash.to')), toInput,
      h('label', { for: 'tables-district' }, t('tables.district')), district,
      h('button.primary', { type: 'submit' }, t('dash.show'))), body);
  await load();
}
