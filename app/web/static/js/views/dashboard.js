// The admins' statistics dashboard: charts drawn by Chart.js served from /static/vendor
// (no CDN), the tables below them, and each table downloadable as CSV or XLSX.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { onLeave } from '../nav.js';
import { exportButtons } from '../exports.js';
import { dataTable } from '../datatable.js';
import { hotLessonLinks } from '../lessonlinks.js';
import { serviceDay, addDays, monthStart } from '../dates.js';

let chartLib = null;
function loadChartJs() {
  chartLib ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/static/vendor/chart-4.6.1.umd.min.js';
    s.onload = () => resolve(window.Chart);
    s.onerror = () => reject(new Error('chart.js'));
    document.head.append(s);
  });
  return chartLib;
}


export default async function dashboard(view) {
  // The inputs show whole days, both included (this month so far); the API's `to` is exclusive.
  const today = serviceDay();
  const fromInput = h('input', { type: 'date', id: 'dash-from', value: monthStart(today) });
  const toInput = h('input', { type: 'date', id: 'dash-to', value: today });
  // Narrow every figure to one district or school (the admin's own scope is the widest choice).
  const schools = await api('/api/schools');
  const districts = [...new Map(schools.map((s) => [s.district_id, s.district_name])).entries()];
  const scope = h('select', { id: 'dash-scope' }, h('option', { value: '' }, t('dash.scope_all')),
    districts.length > 1 ? districts.map(([id, name]) => h('option', { value: `district_id=${id}` }, name)) : null,
    schools.map((s) => h('option', { value: `school_id=${s.id}` }, s.name)));
  const body = h('div', { id: 'dashboard' });
  const charts = [];
  onLeave(() => charts.forEach((c) => c.destroy()));
  const load = async () => {
    charts.splice(0).forEach((c) => c.destroy());
    clear(body, h('p.muted', {}, t('common.loading')));
    const params = { from: fromInput.value, to: addDays(toInput.value, 1) };
    if (scope.value) { const [k, v] = scope.value.split('='); params[k] = v; }
    const qs = new URLSearchParams(params);
    try {
      // One request for every figure of the page (the stars are those of the month `from` is in);
      // the export buttons still download each table from its own endpoint.
      const [Chart, all] = await Promise.all([loadChartJs(), api(`/api/stats/dashboard?${qs}`)]);
      const [trend, table, hot, students, classes, stars] = ['trend', 'participation', 'hot_spots', 'students', 'classes', 'stars']
        .map((k) => ({ rows: all[k] }));
      const rows = table.rows;
      const sum = (k) => rows.reduce((a, r) => a + Number(r[k]), 0);
      const canvas = (id) => h('canvas', { id, role: 'img' });
      const trendCanvas = canvas('chart-trend');
      const rankCanvas = canvas('chart-ranking');
      const hotCanvas = canvas('chart-hot');
      clear(body,
        h('div.kpis', { id: 'dash-kpis' },
          h('div', {}, h('b', {}, sum('participants')), t('dash.participants')),
          h('div', {}, h('b', {}, sum('participations')), t('dash.participations')),
          h('div', {}, h('b', {}, sum('enrolled')), t('dash.enrolled')),
          h('div', {}, h('b', {}, rows.length), t('dash.schools'))),
        h('div.charts', {},
          h('section.card', {}, h('h2', {}, t('dash.trend')), h('div.chart-box', {}, trendCanvas), exportButtons('/api/stats/trend', params)),
          h('section.card', {}, h('h2', {}, t('dash.ranking')), h('div.chart-box', {}, rankCanvas)),
          h('section.card', {}, h('h2', {}, t('dash.hot')), h('div.chart-box', {}, hotCanvas), exportButtons('/api/stats/hot-spots', params), hotLessonLinks(hot.rows)),
          h('section.card', {}, h('h2', {}, t('dash.stars')), dataTable(stars.rows, [['award', 'dash.award'], ['name', 'dash.name'], ['school', 'dash.school'], ['figure', 'dash.figure']]))),
        h('section.card', { id: 'participation-table' }, h('h2', {}, t('dash.table')), exportButtons('/api/stats/participation', params),
          dataTable(rows, [['city_rank', 'dash.rank'], ['school', 'dash.school'], ['participants', 'dash.participants'], ['participations', 'dash.participations'],
            ['enrolled', 'dash.enrolled'], ['participation_rate', 'dash.rate'], ['per_participant', 'dash.per_participant']])),
        h('div.two', {},
          h('section.card', {}, h('h2', {}, t('dash.top_students')), exportButtons('/api/stats/leaderboards/students', params),
            dataTable(students.rows, [['rank', 'dash.rank'], ['name', 'dash.name'], ['school', 'dash.school'], ['participations', 'dash.participations']])),
          h('section.card', {}, h('h2', {}, t('dash.top_classes')), exportButtons('/api/stats/leaderboards/classes', params),
            dataTable(classes.rows, [['rank', 'dash.rank'], ['name', 'dash.name'], ['school', 'dash.school'], ['rate', 'dash.rate']]))));
      // A fresh options object per chart: Chart.js writes its resolved scales into the object it is given,
      // and a shared one made the ranking chart inherit the line chart's axes (and draw no bars).
      const opts = (extra = {}) => ({ responsive: true, maintainAspectRatio: false, animation: false, ...extra });
      const counts = { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };  // whole questions, not steps of 0.2
      charts.push(new Chart(trendCanvas, { type: 'line', options: opts(structuredClone(counts)), data: {
        labels: trend.rows.map((r) => r.day.slice(5)),
        datasets: [{ label: t('dash.participations'), data: trend.rows.map((r) => r.participations), borderColor: '#1f6feb' },
                   { label: t('dash.participants'), data: trend.rows.map((r) => r.participants), borderColor: '#17803d' }] } }));
      const top = rows.slice(0, 20);
      charts.push(new Chart(rankCanvas, { type: 'bar', options: opts({ indexAxis: 'y' }), data: {
        labels: top.map((r) => r.school), datasets: [{ label: t('dash.rate'), data: top.map((r) => Number(r.participation_rate)), backgroundColor: '#1f6feb' }] } }));
      charts.push(new Chart(hotCanvas, { type: 'bar', options: opts(structuredClone(counts)), data: {
        labels: hot.rows.map((r) => r.name), datasets: [{ label: t('dash.asked'), data: hot.rows.map((r) => r.asked), backgroundColor: '#b45309' }] } }));
    } catch (e) { clear(body, h('p.error', {}, errorText(e))); }
  };
  view.append(h('h1', {}, t('dash.title')),
    h('form.card.row', { onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', { for: 'dash-from' }, t('dash.from')), fromInput, h('label', { for: 'dash-to' }, t('dash.to')), toInput,
      h('label', { for: 'dash-scope' }, t('dash.scope')), scope,
      h('button.primary', { type: 'submit' }, t('dash.show'))), body);
  await load();
}
