// The Q&A centre (问答中心): the student asks (similar answered questions first), searches and
// follows their questions; the tutor works through the feed and answers with photos; admins
// moderate. One question page serves all three, with the actions the reader may take.
import { api, imageUrl, uploadImage } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime, subjectName } from '../i18n.js';
import { go, onLeave } from '../nav.js';

export default async function qa(view, ctx) {
  const header = h('p.notice', { id: 'qa-unread', role: 'status' });
  const paintUnread = async () => {
    try { header.textContent = t('qa.unread', { n: (await api('/api/qa/notifications?limit=1')).unread }); } catch { /* shown next time */ }
  };
  if (ctx.app.live) {
    for (const kind of ['qa_question', 'qa_answer', 'qa_reply', 'qa_accepted', 'qa_escalated']) {
      onLeave(ctx.app.live.on(kind, async (data) => {
        if (ctx.name === 'question' && data.question_id === Number(ctx.params[0])) await api('/api/qa/notifications/read', { method: 'POST', json: {} }).catch(() => {});
        paintUnread();
        if (ctx.name === 'question' || ctx.name === 'feed') refresh();
      }));
    }
  }
  let refresh = () => {};
  const body = h('div');
  view.append(header, body);
  paintUnread();
  if (ctx.name === 'question') {
    const id = Number(ctx.params[0]);
    refresh = () => questionView(body, ctx, id);
    await api('/api/qa/notifications/read', { method: 'POST', json: {} }).catch(() => {});
    paintUnread();
  } else if (ctx.name === 'feed') refresh = () => feedView(body, ctx);
  else if (ctx.name === 'admin') refresh = () => adminView(body, ctx);
  else refresh = () => studentView(body, ctx);
  await refresh();
}

let subjectsCache = null;
async function subjects() { subjectsCache ??= await api('/api/subjects'); return subjectsCache; }
async function subjectLabel(code) { const s = (await subjects()).find((x) => x.code === code); return s ? subjectName(s) : code; }

function photoPicker(id, ids) {
  const thumbs = h('div.thumbs', { id: `${id}-thumbs` });
  const error = h('p.error', { role: 'alert' });
  const input = h('input', { type: 'file', accept: 'image/*', multiple: true, id, onchange: async (e) => {
    error.textContent = '';
    for (const file of [...e.target.files]) {
      if (ids.length >= 3) { error.textContent = t('ask.max_photos'); break; }
      try {
        const img = await uploadImage(file);
        ids.push(img.id);
        thumbs.append(h('img', { src: await imageUrl(img.url), alt: t('ask.photo_alt', { n: ids.length }) }));
      } catch (err) { error.textContent = errorText(err); }
    }
    e.target.value = '';
  } });
  return h('div', {}, h('label', { for: id }, t('qa.photos')), input, thumbs, error);
}

async function pictures(list) {
  return h('div.thumbs', {}, await Promise.all(list.map(async (img, i) =>
    h('img', { src: await imageUrl(img.url), alt: t('ask.photo_alt', { n: i + 1 }), class: 'qa-photo' }))));
}

async function questionCard(q) {
  return h('li.card', { dataset: { question: q.id } },
    h('a', { href: `#/qa/${q.id}` }, q.text.slice(0, 80)), h('br'),
    h('span.muted', {}, `${await subjectLabel(q.subject)} · ${formatTime(q.created_at)} · `),
    h('span.pill', { class: 'pill qa-status' }, t(`qa.status.${q.status}`)),
    h('span.muted', {}, ` ${t('qa.answers_n', { n: q.answer_count })}`),
    q.claimed_by ? h('span.pill', {}, t('qa.taken')) : null,
    q.escalated ? h('span.pill', {}, t('qa.escalated')) : null,
    q.hidden ? h('span.pill', {}, t('qa.hidden')) : null);
}

function kpTree(nodes, chosen, onchange) {
  const item = (n) => (n.children && n.children.length
    ? h('details', {}, h('summary', {}, n.name), h('div', {}, n.children.map(item)))
    : h('label', {}, h('input', { type: 'checkbox', value: n.id, onchange: (e) => { if (e.target.checked) chosen.add(n.id); else chosen.delete(n.id); onchange(); } }), n.name));
  return nodes.map(item);
}

async function studentView(view) {
  const subs = await subjects();
  const chosen = new Set();
  const images = [];
  const subject = h('select', { id: 'qa-subject' }, subs.map((s) => h('option', { value: s.code }, subjectName(s))));
  const tree = h('div.kp-tree', { id: 'qa-kp-tree', role: 'group', 'aria-label': t('ask.knowledge_points') });
  const text = h('textarea', { id: 'qa-text', maxlength: 2000, placeholder: t('qa.text_hint') });
  const similarBox = h('div', { id: 'qa-similar', 'aria-live': 'polite' });
  let timer = null;
  const findSimilar = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!text.value.trim() && !chosen.size) { clear(similarBox); return; }
      const qs = new URLSearchParams({ subject: subject.value, text: text.value });
      chosen.forEach((k) => qs.append('knowledge_point_ids', k));
      try {
        const found = await api(`/api/qa/questions/similar?${qs}`);
        clear(similarBox, found.length ? [h('h3', {}, t('qa.similar')), h('ul.plain', {}, await Promise.all(found.map(async (q) =>
          h('li.card', {}, h('a', { href: `#/qa/${q.id}` }, q.text), h('br'),
            h('span.muted', {}, (q.answers[0] && q.answers[0].text.slice(0, 120)) || '')))))] : []);
      } catch { clear(similarBox); }
    }, 400);
  };
  const loadTree = async () => {
    chosen.clear();
    try { clear(tree, kpTree(await api(`/api/subjects/${subject.value}/knowledge-points`), chosen, findSimilar)); } catch (e) { clear(tree, errorText(e)); }
  };
  subject.addEventListener('change', () => { loadTree(); findSimilar(); });
  text.addEventListener('input', findSimilar);
  onLeave(() => clearTimeout(timer));
  const error = h('div', { id: 'qa-error', role: 'alert' });
  const submit = h('button.primary', { type: 'submit', id: 'qa-submit' }, t('qa.post'));
  const form = h('form.card', { onsubmit: async (e) => {
    e.preventDefault();
    clear(error);
    if (!text.value.trim()) { clear(error, h('p.error', {}, t('ask.need_text'))); return; }
    submit.disabled = true;
    try {
      const q = await api('/api/qa/questions', { method: 'POST', json: { subject: subject.value, text: text.value.trim(), knowledge_point_ids: [...chosen], image_ids: images } });
      go(`#/qa/${q.id}`);
    } catch (err) { clear(error, h('p.error', {}, errorText(err))); } finally { submit.disabled = false; }
  } },
  h('label', { for: 'qa-subject' }, t('ask.subject')), subject,
  h('label', {}, t('ask.knowledge_points')), tree,
  h('label', { for: 'qa-text' }, t('qa.text')), text, similarBox,
  photoPicker('qa-photo', images), error, h('div.row', {}, submit));

  const query = h('input', { type: 'search', id: 'qa-query', placeholder: t('qa.search_hint'), 'aria-label': t('qa.search') });
  const results = h('ul.plain', { id: 'qa-results' });
  const search = h('form.row', { role: 'search', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api(`/api/qa/search?${new URLSearchParams({ q: query.value })}`);
      clear(results, r.results.length ? await Promise.all(r.results.map(questionCard)) : h('li.muted', {}, t('qa.no_results')));
    } catch (err) { clear(results, h('li.error', {}, errorText(err))); }
  } }, query, h('button', { type: 'submit', id: 'qa-search' }, t('qa.search')));

  const mine = await api('/api/qa/questions/mine');
  view.append(h('h1', {}, t('qa.title')), form, h('h2', {}, t('qa.search')), search, results,
    h('h2', {}, t('qa.mine')), h('ul.plain', { id: 'qa-mine' }, mine.length ? await Promise.all(mine.map(questionCard)) : h('li.muted', {}, t('qa.none'))));
  await loadTree();
}

async function feedView(view) {
  const kp = h('input', { type: 'number', id: 'qa-feed-kp', min: 1, placeholder: t('qa.kp_filter'), 'aria-label': t('qa.kp_filter') });
  const list = h('ul.plain', { id: 'qa-feed' });
  const load = async () => {
    const qs = kp.value ? `?knowledge_point_id=${Number(kp.value)}` : '';
    try {
      const items = await api(`/api/qa/feed${qs}`);
      clear(list, items.length ? await Promise.all(items.map(questionCard)) : h('li.muted', {}, t('qa.feed_empty')));
    } catch (err) { clear(list, h('li.error', {}, errorText(err))); }
  };
  clear(view, h('h1', {}, t('qa.feed')), h('p.muted', {}, t('qa.feed_hint')),
    h('form.row', { onsubmit: (e) => { e.preventDefault(); load(); } }, kp, h('button', { type: 'submit' }, t('qa.filter'))), list);
  await load();
}

function reasonForm(id, label, onsend) {
  const input = h('input', { id, minlength: 2, maxlength: 500, required: true, 'aria-label': label, placeholder: label });
  return h('form.row', { onsubmit: async (e) => { e.preventDefault(); await onsend(input.value.trim()); } }, input, h('button', { type: 'submit' }, label));
}

async function questionView(view, { app }, id) {
  const me = app.me;
  const q = await api(`/api/qa/questions/${id}`);
  const error = h('div', { id: 'qa-action-error', role: 'alert' });
  const act = async (fn) => { clear(error); try { await fn(); await questionView(view, { app }, id); } catch (err) { clear(error, h('p.error', {}, errorText(err))); } };
  const asker = q.mine;
  const tutor = me.role === 'tutor';
  const admin = me.role.endsWith('_admin');
  const head = h('section.card', { id: 'qa-question' },
    h('h1', {}, t('qa.question')), h('p', { id: 'qa-question-text' }, q.text), await pictures(q.images),
    h('p.muted', {}, `${await subjectLabel(q.subject)} · ${q.grade ? t('qa.grade', { g: q.grade }) : ''} · ${formatTime(q.created_at)}`),
    h('p', {}, h('span.pill', { id: 'qa-status' }, t(`qa.status.${q.status}`)),
      q.claimed_by ? h('span.pill', { id: 'qa-claimed' }, q.claimed_by === me.id ? t('qa.claimed_by_me') : t('qa.taken')) : null,
      q.hidden ? h('span.pill', {}, `${t('qa.hidden')}${q.hidden_reason ? `：${q.hidden_reason}` : ''}`) : null));
  if (asker && q.status === 'open') head.append(h('button', { type: 'button', id: 'qa-close', onclick: () => act(() => api(`/api/qa/questions/${id}/close`, { method: 'POST' })) }, t('qa.close')));
  if (tutor && q.status === 'open' && !q.answers.some((a) => a.tutor_id === me.id)) {
    head.append(h('button', { type: 'button', id: 'qa-claim', onclick: () => act(() => api(`/api/qa/questions/${id}/claim`, { method: 'POST' })) }, t('qa.claim')));
  }
  if (admin && !q.hidden) head.append(reasonForm('qa-hide-question', t('qa.hide'), (reason) => act(() => api(`/api/qa/questions/${id}/hide`, { method: 'POST', json: { reason } }))));
  if (!admin && !asker) head.append(reasonForm('qa-report', t('qa.report'), (reason) => act(() => api(`/api/qa/questions/${id}/reports`, { method: 'POST', json: { reason } }))));

  const answers = h('ol.plain', { id: 'qa-answers' });
  for (const a of q.answers) {
    const li = h('li.card', { dataset: { answer: a.id } },
      h('p', {}, h('b', {}, a.tutor_name), a.accepted ? h('span.pill', { class: 'pill qa-accepted' }, t('qa.accepted')) : null,
        a.rating ? h('span.pill', {}, t('qa.rating', { n: a.rating })) : null, a.hidden ? h('span.pill', {}, t('qa.hidden')) : null),
      h('p', { class: 'qa-answer-text' }, a.text), await pictures(a.images),
      h('ul.plain.qa-replies', {}, a.replies.map((r) => h('li', { class: `qa-reply qa-${r.role}` },
        h('b', {}, r.role === 'student' ? t('qa.follow_up') : t('qa.reply')), '：', r.text))));
    const mayWrite = q.status !== 'closed' && !a.hidden && (asker || (tutor && a.tutor_id === me.id));
    if (mayWrite) {
      const input = h('input', { class: 'qa-reply-text', maxlength: 2000, 'aria-label': asker ? t('qa.follow_up') : t('qa.reply') });
      li.append(h('form.row', { onsubmit: (e) => { e.preventDefault(); act(() => api(`/api/qa/answers/${a.id}/replies`, { method: 'POST', json: { text: input.value } })); } },
        input, h('button', { type: 'submit', class: 'qa-reply-send' }, asker ? t('qa.follow_up') : t('qa.reply'))));
    }
    if (asker && q.status === 'open' && !a.hidden) {
      const rating = h('select', { class: 'qa-rating', 'aria-label': t('qa.rate') }, h('option', { value: '' }, t('qa.no_rating')), [5, 4, 3, 2, 1].map((n) => h('option', { value: n }, '★'.repeat(n))));
      li.append(h('div.row', {}, rating, h('button.primary', { type: 'button', class: 'qa-accept', onclick: () => act(() => api(`/api/qa/answers/${a.id}/accept`, { method: 'POST', json: { rating: rating.value ? Number(rating.value) : null } })) }, t('qa.accept'))));
    }
    if (asker && a.accepted && !a.rating) {
      const rating = h('select', { class: 'qa-rating', 'aria-label': t('qa.rate') }, [5, 4, 3, 2, 1].map((n) => h('option', { value: n }, '★'.repeat(n))));
      li.append(h('div.row', {}, rating, h('button', { type: 'button', class: 'qa-rate', onclick: () => act(() => api(`/api/qa/answers/${a.id}/rate`, { method: 'POST', json: { rating: Number(rating.value) } })) }, t('qa.rate'))));
    }
    if (tutor && a.tutor_id === me.id && !a.accepted && q.status === 'open') li.append(answerEditor(a, id, act));
    if (admin && !a.hidden) li.append(reasonForm(`qa-hide-answer-${a.id}`, t('qa.hide'), (reason) => act(() => api(`/api/qa/answers/${a.id}/hide`, { method: 'POST', json: { reason } }))));
    answers.append(li);
  }
  const parts = [head, error, h('h2', {}, t('qa.answers')), q.answers.length ? answers : h('p.muted', {}, t('qa.no_answers'))];
  if (tutor && q.status === 'open' && !q.answers.some((a) => a.tutor_id === me.id)) parts.push(answerEditor(null, id, act));
  clear(view, parts);
}

function answerEditor(existing, questionId, act) {
  const images = existing ? existing.images.map((i) => i.id) : [];
  const text = h('textarea', { id: existing ? `qa-edit-${existing.id}` : 'qa-answer-text', maxlength: 5000, 'aria-label': t('qa.your_answer') });
  text.value = existing ? existing.text : '';
  const send = () => act(() => (existing
    ? api(`/api/qa/answers/${existing.id}`, { method: 'PUT', json: { text: text.value, image_ids: images } })
    : api(`/api/qa/questions/${questionId}/answers`, { method: 'POST', json: { text: text.value, image_ids: images } })));
  return h('form.card', { id: existing ? null : 'qa-answer-form', onsubmit: (e) => { e.preventDefault(); send(); } },
    h('h3', {}, existing ? t('qa.edit_answer') : t('qa.your_answer')), text,
    photoPicker(existing ? `qa-edit-photo-${existing.id}` : 'qa-answer-photo', images),
    h('button.primary', { type: 'submit', id: existing ? null : 'qa-answer-send' }, existing ? t('qa.save') : t('qa.send_answer')));
}

async function adminView(view) {
  const backlog = await api('/api/qa/backlog');
  clear(view, h('h1', {}, t('qa.moderation')),
    h('p', {}, t('qa.reports_moved'), ' ', h('a', { href: '#/reports', id: 'qa-reports-link' }, t('nav.reports'))),
    h('h2', {}, t('qa.backlog')), h('ul.plain', { id: 'qa-backlog' }, backlog.length ? await Promise.all(backlog.map(questionCard)) : h('li.muted', {}, t('qa.backlog_empty'))));
}
