// The student's screens: ask for help, wait (position, ETA, cancel), rate, history.
import { api, imageUrl, uploadImage } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime, formatDuration, subjectName } from '../i18n.js';
import { go, flash, onLeave } from '../nav.js';
import { sessionsTable, when } from '../sessions.js';

export default async function student(view, ctx) {
  if (ctx.name === 'ask') return ask(view, ctx);
  if (ctx.name === 'wait') return wait(view, ctx, Number(ctx.params[0]));
  if (ctx.name === 'rate') return rate(view, ctx, Number(ctx.params[0]));
  return historyView(view, ctx);
}

function kpTree(nodes, chosen) {
  const item = (n) => (n.children && n.children.length
    ? h('details', {}, h('summary', {}, n.name), h('div', {}, n.children.map(item)))
    : h('label', {}, h('input', { type: 'checkbox', value: n.id, onchange: (e) => { if (e.target.checked) chosen.add(n.id); else chosen.delete(n.id); } }), n.name));
  return nodes.map(item);
}

async function ask(view, { app }) {
  const win = await api('/api/service-window');
  const subjects = await api('/api/subjects');
  const chosenKps = new Set();
  const images = [];
  const banner = h('p', { class: win.open ? 'notice' : 'notice warn', id: 'window-status' },
    win.open ? (win.closes_at ? t('ask.window_open', { until: formatTime(win.closes_at) }) : t('ask.window_open_always'))
      : t('ask.window_closed', { next: win.next_opening ? formatTime(win.next_opening) : t('common.unknown') }));
  const subject = h('select', { id: 'subject', name: 'subject' },
    subjects.map((s) => h('option', { value: s.code }, subjectName(s))));
  const tree = h('div.kp-tree', { id: 'kp-tree', role: 'group', 'aria-label': t('ask.knowledge_points') });
  const loadTree = async () => {
    chosenKps.clear();
    clear(tree, h('span.muted', {}, t('common.loading')));
    try { clear(tree, kpTree(await api(`/api/subjects/${subject.value}/knowledge-points`), chosenKps)); } catch (e) { clear(tree, errorText(e)); }
  };
  subject.addEventListener('change', () => { loadTree(); tutorsBox.hidden || loadTutors(); });
  const text = h('textarea', { id: 'question', name: 'question', maxlength: 2000, required: true, placeholder: t('ask.question_hint') });
  const thumbs = h('div.thumbs', { id: 'thumbs' });
  const photoError = h('p.error', { role: 'alert' });
  const addPhotos = async (e) => {
    photoError.textContent = '';
    for (const file of [...e.target.files]) {
      if (images.length >= 3) { photoError.textContent = t('ask.max_photos'); break; }
      try {
        const img = await uploadImage(file);
        images.push(img.id);
        thumbs.append(h('img', { src: await imageUrl(img.url), alt: t('ask.photo_alt', { n: images.length }) }));
      } catch (err) { photoError.textContent = errorText(err); }
    }
    e.target.value = '';
  };
  const camera = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'photo-camera', class: 'visually-hidden', onchange: addPhotos });
  const album = h('input', { type: 'file', accept: 'image/*', multiple: true, id: 'photo', class: 'visually-hidden', onchange: addPhotos });
  const tutorsBox = h('div', { id: 'tutor-list', hidden: true });
  let chosenTutor = null;
  const loadTutors = async () => {
    chosenTutor = null;
    clear(tutorsBox, h('span.muted', {}, t('common.loading')));
    try {
      const qs = new URLSearchParams({ subject: subject.value });
      chosenKps.forEach((k) => qs.append('knowledge_point_ids', k));
      const list = await api(`/api/matching/tutors?${qs}`);
      if (!list.length) { clear(tutorsBox, h('p.muted', {}, t('ask.no_tutors_free'))); return; }
      clear(tutorsBox, h('ul.tutors', {}, list.map((tu) => h('li', {},
        h('label', {}, h('input', { type: 'radio', name: 'tutor', value: tu.id, onchange: () => { chosenTutor = tu.id; } }),
          h('span', {}, h('b', {}, tu.name), tu.favourite ? h('span.pill', {}, t('ask.favourite')) : null, ' ', tu.school, h('br'),
            h('span.muted', {}, t('ask.tutor_line', { rating: tu.rating.toFixed(1), ratings: tu.ratings, sessions: tu.sessions_given })),
            tu.specialities.length ? h('br') : null, tu.specialities.map((s) => h('span.pill', {}, s))))))));
    } catch (e) { clear(tutorsBox, h('p.error', {}, errorText(e))); }
  };
  const modeAuto = h('input', { type: 'radio', name: 'mode', value: 'auto', id: 'mode-auto', checked: true, onchange: () => { tutorsBox.hidden = true; } });
  const modeChosen = h('input', { type: 'radio', name: 'mode', value: 'chosen', id: 'mode-chosen', onchange: () => { tutorsBox.hidden = false; loadTutors(); } });
  const error = h('div', { id: 'ask-error', role: 'alert' });
  const submit = h('button.primary', { type: 'submit', id: 'ask-submit' }, t('ask.submit'));
  const form = h('form.card', {
    onsubmit: async (e) => {
      e.preventDefault();
      clear(error);
      if (!text.value.trim()) { clear(error, h('p.error', {}, t('ask.need_text'))); return; }
      if (modeChosen.checked && !chosenTutor) { clear(error, h('p.error', {}, t('ask.need_tutor'))); return; }
      submit.disabled = true;
      const body = { subject: subject.value, text: text.value.trim(), knowledge_point_ids: [...chosenKps], image_ids: images,
                     mode: modeChosen.checked ? 'chosen' : 'auto', tutor_id: modeChosen.checked ? chosenTutor : null };
      try {
        const req = await api('/api/help-requests', { method: 'POST', json: body });
        go(`#/wait/${req.id}`);
      } catch (err) {
        clear(error, h('p.error', {}, errorText(err)));
        if (err.code === 'OutsideServiceWindow' && err.extra.request_id) error.append(toQuestionButton(err.extra.request_id, error));
      } finally { submit.disabled = false; }
    },
  },
  h('label', { for: 'subject' }, t('ask.subject')), subject,
  h('label', {}, t('ask.knowledge_points')), tree,
  h('label', { for: 'question' }, t('ask.question')), text,
  h('span.label', {}, t('ask.photos')),
  h('div.row', {}, h('label.button', { for: 'photo-camera' }, t('ask.take_photo')), camera,
    h('label.button', { for: 'photo', id: 'photo-album' }, t('ask.from_album')), album), thumbs, photoError,
  h('fieldset', { style: 'border:0;padding:0;margin:12px 0' }, h('legend', { style: 'font-weight:600' }, t('ask.how')),
    h('label', { style: 'font-weight:400' }, modeAuto, ' ', t('ask.mode_auto')),
    h('label', { style: 'font-weight:400' }, modeChosen, ' ', t('ask.mode_chosen'))),
  tutorsBox, error, h('div.row', {}, submit));
  // Outside the window the other forms are offered first, before anyone fills in the form.
  const elsewhere = win.open ? null : h('div.row', { id: 'closed-options' },
    h('a.button.primary', { href: '#/qa', id: 'closed-qa' }, t('ask.closed_qa')),
    h('a.button', { href: '#/lessons', id: 'closed-lessons' }, t('ask.closed_lessons')));
  view.append(h('h1', {}, t('ask.title')), banner, ...(elsewhere ? [elsewhere] : []), form);
  await loadTree();
}

function toQuestionButton(requestId, box, onDone = () => {}) {
  const b = h('button', { type: 'button', id: 'to-question', onclick: async () => {
    b.disabled = true;
    try {
      const req = await api(`/api/help-requests/${requestId}/to-question`, { method: 'POST' });
      clear(box, h('p.notice', { id: 'question-saved' }, t('wait.question_saved')),
        req.question_id ? h('a', { href: `#/qa/${req.question_id}`, id: 'question-link' }, t('qa.open_question')) : null);
      onDone();
    } catch (e) { clear(box, h('p.error', {}, errorText(e))); }
  } }, t('wait.to_question'));
  return b;
}

async function wait(view, { app }, requestId) {
  const status = h('div', { id: 'wait-status', role: 'status', 'aria-live': 'polite' });
  const message = h('div', { id: 'wait-message', role: 'alert' });
  const actions = h('div.row');
  let closed = false;
  const cancel = h('button.danger', { type: 'button', id: 'cancel', onclick: async () => {
    cancel.disabled = true;
    try {
      await api(`/api/help-requests/${requestId}/cancel`, { method: 'POST' });
      closed = true;
      clear(status);
      clear(message, h('p.notice', {}, t('wait.cancelled')));
      clear(actions, h('a.button', { href: '#/ask' }, t('wait.ask_again')));
    } catch (e) { cancel.disabled = false; clear(message, h('p.error', {}, errorText(e))); }
  } }, t('wait.cancel'));
  actions.append(cancel);
  const paint = (s) => {
    if (closed) return;
    if (s.session_id) { go(`#/session/${s.session_id}`); return; }
    if (s.state === 'ringing' || s.matching === 'ringing') {
      clear(status, h('div.spinner'), h('p.big', {}, t('wait.ringing')));
    } else if ((s.state === 'waiting' || s.matching === 'waiting') && s.tutors_on_duty === 0) {
      // Nobody of this subject is on duty: say so at once and offer the other ways, not an estimate.
      clear(status, h('p.big', { id: 'nobody-on-duty' }, t('wait.nobody_on_duty')), h('p', {}, t('wait.nobody_hint')));
      if (!actions.querySelector('#to-question')) {
        actions.append(toQuestionButton(requestId, message, () => {
          closed = true;
          clear(status);
          clear(actions, h('a.button', { href: '#/ask' }, t('wait.ask_again')));
        }));
      }
    } else if (s.state === 'waiting' || s.matching === 'waiting') {
      clear(status, h('div.spinner'), h('p.big', {}, t('wait.position', { n: s.position ?? '?' })),
        h('p', {}, s.eta_s != null ? t('wait.eta', { min: Math.max(1, Math.round(s.eta_s / 60)) }) : t('wait.eta_unknown')));
    } else if (['expired', 'cancelled', 'refused', 'converted'].includes(s.status)) {
      closed = true;
      clear(status);
      clear(message, h('p.notice', {}, t(`wait.closed_${s.status}`)));
      clear(actions, h('a.button', { href: '#/ask' }, t('wait.ask_again')));
      if (s.status === 'expired') actions.append(toQuestionButton(requestId, message));
    }
  };
  view.append(h('h1', {}, t('wait.title')), h('div.card', {}, status, message, actions));
  const live = app.live;
  const offs = [
    live.on('queue', (d) => { if (d.request_id === requestId) paint(d); }),
    live.on('matched', (d) => { if (d.request_id === requestId) { closed = true; go(`#/session/${d.session_id}`); } }),
    live.on('offer_declined', (d) => {
      if (d.request_id === requestId) clear(message, h('p.notice', {}, t('wait.declined')));
    }),
    live.on('request_expired', (d) => {
      if (d.request_id !== requestId) return;
      closed = true;
      clear(status);
      clear(message, h('p.notice', {}, t('wait.expired')));
      clear(actions, h('a.button', { href: '#/ask' }, t('wait.ask_again')));
      if (d.can_ask_question) actions.append(toQuestionButton(requestId, message));
    }),
  ];
  const poll = async () => { try { paint(await api(`/api/help-requests/${requestId}/status`)); } catch (e) { /* next poll */ } };
  const timer = setInterval(poll, 5000);
  onLeave(() => { clearInterval(timer); offs.forEach((off) => off()); });
  await poll();
}

async function rate(view, ctx, sessionId) {
  const s = await api(`/api/sessions/${sessionId}`);
  const error = h('p.error', { role: 'alert' });
  let value = 0;
  const stars = h('fieldset.stars', { id: 'stars' }, h('legend', { class: 'visually-hidden' }, t('rate.stars')),
    [1, 2, 3, 4, 5].map((n) => h('label', { title: t('rate.star_n', { n }) },
      h('input', { type: 'radio', name: 'rating', value: n, 'aria-label': t('rate.star_n', { n }), onchange: () => {
        value = n;
        [...stars.querySelectorAll('label')].forEach((l, i) => l.classList.toggle('on', i < n));
      } }), h('span', { 'aria-hidden': 'true' }, '★'))));
  const comment = h('textarea', { id: 'comment', maxlength: 500, placeholder: t('rate.comment_hint') });
  const form = h('form.card', {
    onsubmit: async (e) => {
      e.preventDefault();
      if (!value) { error.textContent = t('rate.need_stars'); return; }
      try {
        await api(`/api/sessions/${sessionId}/rating`, { method: 'POST', json: { rating: value, comment: comment.value.trim() || null } });
        flash(t('rate.thanks'), 'info', true);
        go('#/history');
      } catch (err) { error.textContent = errorText(err); }
    },
  }, h('p', { id: 'rate-tutor' }, t('rate.with', { name: s.tutor_name || t('record.tutor') })),
  h('p', {}, t('rate.summary', { minutes: formatDuration(s.duration_s), reason: t(`end.${s.end_reason}`) })),
  stars, h('label', { for: 'comment' }, t('rate.comment')), comment, error,
  h('div.row', {}, h('button.primary', { type: 'submit', id: 'rate-submit' }, t('rate.submit')), h('a.button', { href: '#/history' }, t('rate.later'))));
  const body = !s.live_at ? h('p.notice', {}, t('rate.never_live'), ' ', h('a', { href: '#/ask' }, t('wait.ask_again')))
    : s.rating ? h('p.notice', {}, t('rate.already', { n: s.rating })) : form;
  view.append(h('h1', {}, t('rate.title')), body);
}

async function historyView(view, { app }) {
  const [sessions, subjects] = await Promise.all([api('/api/sessions'), api('/api/subjects')]);
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  const unrated = sessions.filter((s) => s.state === 'ended' && s.live_at && !s.rating);
  view.append(h('h1', {}, t('history.title')),
    ...(unrated.length ? [h('p.notice', {}, t('history.unrated'), ' ', unrated.map((s) => h('a.unrated', { href: `#/rate/${s.id}` }, `${formatTime(when(s))} ${names[s.subject] || s.subject} · ${s.tutor_name || ''}`)))] : []),
    h('div.card', {}, sessionsTable(sessions, names, { tutor: true })));
}
