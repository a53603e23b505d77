// Micro-lessons: the catalogue and the player (everyone), a tutor's lessons with upload and
// status, and the admins' review list with the lesson figures.
import { api, putFileWithProgress } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatDuration, subjectName } from '../i18n.js';
import { onLeave } from '../nav.js';
import { exportButtons } from '../exports.js';
import { dataTable } from '../datatable.js';
import { serviceDay, addDays } from '../dates.js';

export default async function lessons(view, ctx) {
  if (ctx.name === 'player') return player(view, ctx, Number(ctx.params[0]));
  if (ctx.name === 'mine') return mine(view, ctx);
  if (ctx.name === 'review') return review(view, ctx);
  return catalogue(view, ctx, new URLSearchParams(ctx.params[0] || ''));
}

/** The knowledge-point tree of a subject as <option>s (a chapter finds its points' lessons too). */
async function kpOptions(subject) {
  if (!subject) return [];
  const tree = await api(`/api/subjects/${subject}/knowledge-points`);
  const out = [];
  const walk = (nodes, depth) => nodes.forEach((n) => { out.push(h('option', { value: n.id }, `${'\u3000'.repeat(depth)}${n.name}`)); walk(n.children || [], depth + 1); });
  walk(tree, 0);
  return out;
}

/** The last 30 service days, today included ([from, to) in days of Asia/Shanghai). */
function period() {
  const today = serviceDay();
  return { from: addDays(today, -30), to: addDays(today, 1) };
}

function card(l, names, extra = []) {
  return h('article.card.lesson', { dataset: { lesson: l.id } },
    l.poster_url ? h('img.poster', { src: l.poster_url, alt: '', loading: 'lazy' }) : null,
    h('div', {},
      h('h3', {}, l.review_status === 'approved' && l.media_status === 'ready' ? h('a', { href: `#/lesson/${l.id}` }, l.title) : l.title),
      h('p.muted', {}, [names[l.subject] || l.subject, t(`band.${l.band}`), l.duration_s ? formatDuration(l.duration_s) : null].filter(Boolean).join(' · ')),
      h('p', {}, l.knowledge_points.map((k) => h('span.pill', {}, k.name))),
      h('p.muted', {}, h('a', { href: `#/lessons?tutor=${l.tutor_id}` }, l.tutor_name), ` · ${l.school} · `,
        t('lessons.views_line', { clicks: l.clicks, views: l.complete_views })),
      extra));
}

async function catalogue(view, { app }, params) {
  const subjects = await api('/api/subjects');
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  const subject = h('select', { id: 'lesson-subject' }, h('option', { value: '' }, t('lessons.all_subjects')),
    subjects.map((s) => h('option', { value: s.code }, subjectName(s))));
  const band = h('select', { id: 'lesson-band' }, h('option', { value: '' }, t('lessons.all_bands')),
    h('option', { value: 'junior' }, t('band.junior')), h('option', { value: 'senior' }, t('band.senior')));
  const kp = h('select', { id: 'lesson-kp' }, h('option', { value: '' }, t('lessons.all_kps')));
  const q = h('input', { type: 'text', id: 'lesson-q', maxlength: 100, placeholder: t('lessons.search_hint') });
  // With words to search, the default order is the Q&A centre's: best match first, then newest.
  const byDefault = h('option', { value: 'newest' }, t('lessons.newest'));
  const sort = h('select', { id: 'lesson-sort' }, byDefault, h('option', { value: 'most_watched' }, t('lessons.most_watched')));
  const relabel = () => { byDefault.textContent = q.value.trim() ? t('lessons.best_match') : t('lessons.newest'); };
  const list = h('div', { id: 'lesson-list' });
  const tutor = params.get('tutor');
  const fillKps = async (chosen = '') => {
    clear(kp, h('option', { value: '' }, t('lessons.all_kps')), await kpOptions(subject.value));
    kp.value = chosen;
  };
  const load = async () => {
    clear(list, h('p.muted', {}, t('common.loading')));
    const qs = new URLSearchParams({ sort: sort.value, limit: 50 });
    if (subject.value) qs.set('subject', subject.value);
    if (band.value) qs.set('band', band.value);
    if (kp.value) qs.set('knowledge_point_id', kp.value);
    if (q.value.trim()) qs.set('q', q.value.trim());
    if (tutor) qs.set('tutor_id', tutor);
    try {
      const page = await api(`/api/lessons?${qs}`);
      clear(list, page.rows.length ? page.rows.map((l) => card(l, names)) : h('p.muted', {}, t('lessons.none')));
    } catch (e) { clear(list, h('p.error', {}, errorText(e))); }
  };
  subject.addEventListener('change', async () => { await fillKps(); load(); });
  [band, kp, sort].forEach((el) => el.addEventListener('change', load));
  q.addEventListener('input', relabel);
  if (params.get('subject')) { subject.value = params.get('subject'); await fillKps(params.get('kp') || ''); }
  view.append(h('h1', {}, tutor ? t('lessons.tutor_title') : t('lessons.title')),
    h('form.card.filters', { onsubmit: (e) => { e.preventDefault(); load(); } },
      h('div.row', {},
        h('div', {}, h('label', { for: 'lesson-subject' }, t('lessons.subject')), subject),
        h('div', {}, h('label', { for: 'lesson-band' }, t('lessons.band')), band),
        h('div', {}, h('label', { for: 'lesson-kp' }, t('lessons.kp')), kp),
        h('div', {}, h('label', { for: 'lesson-sort' }, t('lessons.sort')), sort)),
      h('label', { for: 'lesson-q' }, t('lessons.search')), h('div.row', {}, q, h('button.primary', { type: 'submit' }, t('lessons.find')))),
    list);
  await load();
}

async function player(view, { app }, id) {
  const lesson = await api(`/api/lessons/${id}`);
  const state = { completed: false, covered_s: 0, clicks: 0, reports: 0 };
  app.lesson = state;  // for the browser tests and for support
  const video = h('video', { id: 'player', controls: true, preload: 'metadata', playsinline: true, src: lesson.video_url, poster: lesson.poster_url || null });
  const speed = h('select', { id: 'lesson-speed', onchange: () => { video.playbackRate = Number(speed.value); } },
    [0.75, 1, 1.25, 1.5, 2].map((r) => h('option', { value: r, selected: r === 1 }, `${r}×`)));
  const status = h('p.muted', { id: 'lesson-progress', role: 'status' });
  const student = app.me.role === 'student';
  let chain = Promise.resolve();
  const report = () => {
    if (!student) return;
    const pos = video.currentTime;
    chain = chain.then(() => api(`/api/lessons/${id}/progress`, { method: 'POST', json: { position_s: pos } })).then((r) => {
      state.reports += 1;
      state.covered_s = r.covered_s;
      state.completed = r.completed;
      status.textContent = r.completed ? t('lessons.completed') : t('lessons.watched', { covered: r.covered_s, needed: r.needed_s });
    }).catch(() => { /* the next report carries the position again */ });
  };
  let started = false;
  video.addEventListener('play', async () => {
    if (started && !video.ended && video.currentTime > 0.5) return;
    started = true;
    try {
      const play = await api(`/api/lessons/${id}/plays`, { method: 'POST', json: {} });
      state.clicks += play.counted_click ? 1 : 0;
      if (play.resume_s > 1 && video.currentTime < 1) video.currentTime = play.resume_s;
    } catch (e) { status.textContent = errorText(e); }
  });
  video.addEventListener('pause', report);
  video.addEventListener('ended', report);
  const timer = setInterval(() => { if (!video.paused && !video.ended) report(); }, 2000);
  onLeave(() => { clearInterval(timer); if (!video.paused) report(); video.pause(); });
  view.append(h('h1', {}, lesson.title),
    h('div.card', {}, h('div.video-box', {}, video),
      h('div.row', {}, h('label', { for: 'lesson-speed' }, t('lessons.speed')), speed), status),
    h('div.card', {}, h('p.muted', {}, h('a', { href: `#/lessons?tutor=${lesson.tutor_id}` }, lesson.tutor_name), ` · ${lesson.school}`),
      h('p', {}, lesson.knowledge_points.map((k) => h('span.pill', {}, k.name))), lesson.description ? h('p', {}, lesson.description) : null));
}

function statusLine(l) {
  const media = h('span', { class: l.media_status === 'failed' ? 'bad' : l.media_status === 'ready' ? 'ok' : 'warn', dataset: { media: l.media_status } },
    t(`lessons.media.${l.media_status}`));
  const reviewed = l.media_status === 'ready' ? h('span', { dataset: { review: l.review_status } }, ' · ', t(`lessons.review.${l.review_status}`)) : null;
  return h('p.lesson-status', {}, media, reviewed,
    l.failure_reason ? h('span.bad', {}, ` · ${l.failure_reason}`) : null,
    l.reject_reason ? h('span.bad', {}, ` · ${t('lessons.reject_reason', { reason: l.reject_reason })}`) : null);
}

async function mine(view, { app }) {
  const subjects = await api('/api/subjects');
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  const title = h('input', { type: 'text', id: 'up-title', maxlength: 100, required: true });
  const desc = h('textarea', { id: 'up-desc', maxlength: 4000 });
  const subject = h('select', { id: 'up-subject' }, subjects.map((s) => h('option', { value: s.code }, subjectName(s))));
  const band = h('select', { id: 'up-band' }, h('option', { value: 'junior' }, t('band.junior')), h('option', { value: 'senior' }, t('band.senior')));
  const kp = h('select', { id: 'up-kp', multiple: true, size: 6 });
  const file = h('input', { type: 'file', id: 'up-file', accept: 'video/mp4,video/quicktime,video/webm', required: true });
  const bar = h('progress', { id: 'up-progress', max: 100, value: 0, hidden: true });
  const note = h('p', { id: 'up-status', role: 'status' });
  const error = h('p.error', { role: 'alert' });
  const list = h('div', { id: 'my-lessons' });
  const archive = h('div', { id: 'lesson-archive' });
  const fillKps = async () => clear(kp, await kpOptions(subject.value));
  subject.addEventListener('change', fillKps);
  const timers = [];
  onLeave(() => timers.forEach(clearTimeout));
  const paint = async () => {
    const rows = await api('/api/lessons/mine');
    clear(list, rows.length ? rows.map((l) => card(l, names, [statusLine(l), l.review_status === 'rejected' ? amendForm(l) : null])) : h('p.muted', {}, t('lessons.none_mine')));
    if (rows.some((l) => l.media_status === 'processing')) timers.push(setTimeout(paint, 1000));
    const p = period();
    const a = await api(`/api/lessons/stats/archive?from=${p.from}&to=${p.to}`);
    clear(archive, exportButtons('/api/lessons/stats/archive', p),
      dataTable(a.rows, [['title', 'lessons.col_title'], ['clicks', 'lessons.col_clicks'], ['complete_views', 'lessons.col_views', 'td.views'],
        ['points', 'lessons.col_points']], {}, (r) => ({ dataset: { lesson: r.lesson_id } })));
  };
  const amendForm = (l) => {
    const input = h('input', { type: 'text', value: l.title, maxlength: 100, 'aria-label': t('lessons.title_field') });
    const err = h('p.error', { role: 'alert' });
    return h('form.row', { onsubmit: async (e) => {
      e.preventDefault();
      try { await api(`/api/lessons/${l.id}`, { method: 'PUT', json: { title: input.value } }); await paint(); } catch (x) { err.textContent = errorText(x); }
    } }, input, h('button', { type: 'submit' }, t('lessons.resubmit')), err);
  };
  const form = h('form.card', { id: 'upload-form', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    note.textContent = '';
    const kps = [...kp.selectedOptions].map((o) => Number(o.value));
    if (!title.value.trim() || !kps.length || !file.files.length) { error.textContent = t('lessons.need_fields'); return; }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const l = await api('/api/lessons', { method: 'POST', json: { title: title.value.trim(), description: desc.value, subject: subject.value, band: band.value, knowledge_point_ids: kps } });
      bar.hidden = false;
      bar.value = 0;
      note.textContent = t('lessons.uploading', { pct: 0 });
      await putFileWithProgress(`/api/lessons/${l.id}/video`, file.files[0], (f) => { bar.value = Math.round(f * 100); note.textContent = t('lessons.uploading', { pct: bar.value }); });
      bar.value = 100;
      note.textContent = t('lessons.uploaded');
      form.reset();
      await paint();
    } catch (x) { error.textContent = errorText(x); bar.hidden = true; note.textContent = ''; await paint(); }
    finally { submit.disabled = false; }
  } },
  h('h2', {}, t('lessons.upload')),
  h('label', { for: 'up-title' }, t('lessons.title_field')), title,
  h('label', { for: 'up-desc' }, t('lessons.description')), desc,
  h('div.row', {}, h('div', {}, h('label', { for: 'up-subject' }, t('lessons.subject')), subject), h('div', {}, h('label', { for: 'up-band' }, t('lessons.band')), band)),
  h('label', { for: 'up-kp' }, t('lessons.kps')), kp,
  h('label', { for: 'up-file' }, t('lessons.file')), file, h('p.muted', {}, t('lessons.file_hint')),
  bar, note, error, h('button.primary', { type: 'submit' }, t('lessons.upload_button')));
  view.append(h('h1', {}, t('lessons.mine_title')), form, h('h2', {}, t('lessons.my_list')), list, h('h2', {}, t('lessons.archive')), archive);
  await fillKps();
  await paint();
}

async function review(view, { app }) {
  const subjects = await api('/api/subjects');
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  const list = h('div', { id: 'lesson-review' });
  const figures = h('div', { id: 'lesson-figures' });
  const paint = async () => {
    const rows = await api('/api/lessons/review');
    clear(list, rows.length ? rows.map((l) => {
      const reason = h('input', { type: 'text', maxlength: 500, placeholder: t('admin.reason_hint'), 'aria-label': t('admin.reason') });
      const err = h('p.error', { role: 'alert' });
      const preview = h('div');
      const decide = async (action) => {
        err.textContent = '';
        if (action === 'reject' && reason.value.trim().length < 2) { err.textContent = t('admin.need_reason'); return; }
        try {
          await api(`/api/lessons/${l.id}/${action}`, { method: 'POST', json: action === 'reject' ? { reason: reason.value.trim() } : undefined });
          await paint();
          list.prepend(h('p.notice', { role: 'status' }, t(action === 'approve' ? 'lessons.approved' : 'lessons.rejected', { title: l.title })));
        } catch (x) { err.textContent = errorText(x); }
      };
      const watch = async () => {
        const full = await api(`/api/lessons/${l.id}`);
        clear(preview, h('video', { controls: true, src: full.video_url, poster: full.poster_url, class: 'preview' }));
      };
      return card(l, names, [l.description ? h('p', {}, l.description) : null, preview, reason, err,
        h('div.row', {}, h('button', { type: 'button', onclick: watch }, t('lessons.watch')),
          h('button.primary', { type: 'button', onclick: () => decide('approve') }, t('admin.approve')),
          h('button.danger', { type: 'button', onclick: () => decide('reject') }, t('admin.reject')))]);
    }) : h('p.muted', {}, t('lessons.no_review')));
    const p = period();
    const [byLesson, board] = await Promise.all([api(`/api/lessons/stats/views?by=lesson&from=${p.from}&to=${p.to}`),
      api(`/api/lessons/stats/leaderboard?from=${p.from}&to=${p.to}&limit=10`)]);
    const tableOf = (rows) => dataTable(rows, [['rank', 'lessons.col_rank'], ['name', 'lessons.col_title'], ['clicks', 'lessons.col_clicks'],
      ['complete_views', 'lessons.col_views', 'td.views']], {}, (r) => ({ dataset: { lesson: r.id } }));
    clear(figures, h('h3', {}, t('lessons.figures_scope')), exportButtons('/api/lessons/stats/views', { ...p, by: 'lesson' }), tableOf(byLesson.rows),
      h('h3', {}, t('lessons.leaderboard')), tableOf(board.rows));
  };
  view.append(h('h1', {}, t('lessons.review_title')), list, h('h2', {}, t('lessons.figures')), figures);
  await paint();
}
