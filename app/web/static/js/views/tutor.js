// The tutor's desk: application status, duty, ringing offers (seen and heard), the archive.
import { api, imageUrl } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime, subjectName } from '../i18n.js';
import { go, onLeave } from '../nav.js';
import { sessionsTable } from '../sessions.js';
import { exportButtons } from '../exports.js';
import { serviceDay, addDays } from '../dates.js';


/** A two-tone ring while offers are waiting (Web Audio; no sound file to download). */
class Ringer {
  constructor() { this.ctx = null; this.timer = null; }
  start() {
    if (this.timer) return;
    const beep = () => {
      try {
        this.ctx ??= new AudioContext();
        const o = this.ctx.createOscillator();
        const g = this.ctx.createGain();
        o.frequency.value = 880;
        o.frequency.setValueAtTime(660, this.ctx.currentTime + 0.2);
        g.gain.setValueAtTime(0.2, this.ctx.currentTime);
        g.gain.exponentialRampToValueAtTime(0.001, this.ctx.currentTime + 0.5);
        o.connect(g).connect(this.ctx.destination);
        o.start();
        o.stop(this.ctx.currentTime + 0.5);
      } catch { /* audio blocked until the first click: the visual ring still shows */ }
    };
    beep();
    this.timer = setInterval(beep, 1500);
  }
  stop() { clearInterval(this.timer); this.timer = null; }
}

export default async function tutor(view, { app }) {
  const [application, subjects] = await Promise.all([api('/api/tutors/me/application'), api('/api/subjects')]);
  const names = Object.fromEntries(subjects.map((s) => [s.code, subjectName(s)]));
  view.append(h('h1', {}, t('tutor.title', { name: app.me.real_name })));

  // --- application and profile
  const appCard = h('section.card', { id: 'application' }, h('h2', {}, t('tutor.application')),
    h('p', {}, t('tutor.app_status'), ' ', h('b', { id: 'application-status' }, t(`appstatus.${application.status}`))),
    application.rejected_reason ? h('p.bad', {}, t('tutor.rejected', { level: t(`level.${application.rejected_level}`), reason: application.rejected_reason })) : null,
    h('p.muted', {}, t('tutor.profile_line', { title: t(`title.${application.title}`), subjects: application.subjects.map((c) => names[c] || c).join('、'),
      bands: application.grade_bands.map((b) => t(`band.${b}`)).join('、') })));
  if (application.status !== 'approved') { view.append(appCard); return; }
  // What students read in the 择师 list, changed without a new review.
  const fieldsInput = h('input', { type: 'text', id: 'profile-fields', maxlength: 500, value: application.fields });
  const bioInput = h('textarea', { id: 'profile-bio', maxlength: 2000 }, application.bio);
  const profileNote = h('p', { id: 'profile-note', role: 'status' });
  appCard.append(h('details', { id: 'profile-edit' }, h('summary', {}, t('profile.edit')),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const saved = await api('/api/tutors/me/profile', { method: 'PUT', json: { fields: fieldsInput.value.trim(), bio: bioInput.value.trim(), expertise: application.expertise } });
        fieldsInput.value = saved.fields;
        bioInput.value = saved.bio;
        profileNote.textContent = t('profile.saved');
      } catch (err) { profileNote.textContent = errorText(err); }
    } }, h('label', { for: 'profile-fields' }, t('apply.fields')), fieldsInput, h('label', { for: 'profile-bio' }, t('apply.bio')), bioInput,
    profileNote, h('div.row', {}, h('button.primary', { type: 'submit', id: 'profile-save' }, t('profile.save'))))));

  // --- duty
  const dutyState = h('p', { id: 'duty-state', role: 'status' });
  const dutyButton = h('button.primary', { type: 'button', id: 'duty-toggle' });
  const dutyError = h('p.error', { role: 'alert' });
  let duty = await api('/api/duty');
  const paintDuty = () => {
    dutyState.textContent = t(`duty.${duty.state}`) + (duty.window_open ? '' : ` · ${t('duty.window_closed', { next: duty.next_opening ? formatTime(duty.next_opening) : t('common.unknown') })}`);
    dutyButton.textContent = duty.on_duty ? t('duty.go_off') : t('duty.go_on');
    dutyButton.className = duty.on_duty ? '' : 'primary';
    // Outside the window nobody can ask: going on duty is refused, so the button says why up front.
    dutyButton.disabled = !duty.on_duty && !duty.window_open;
  };
  dutyButton.addEventListener('click', async () => {
    dutyError.textContent = '';
    dutyButton.disabled = true;
    try { duty = await api('/api/duty', { method: duty.on_duty ? 'DELETE' : 'POST' }); paintDuty(); loadOffers(); } catch (e) { dutyError.textContent = errorText(e); }
    finally { dutyButton.disabled = false; }
  });
  paintDuty();

  // --- offers
  const offersBox = h('div', { id: 'offers', 'aria-live': 'assertive' });
  const ringer = new Ringer();
  const offers = new Map();
  const paintOffers = async () => {
    if (!offers.size) { ringer.stop(); document.title = t('app.title'); clear(offersBox, h('p.muted', {}, duty.on_duty ? t('offers.none') : t('offers.off_duty'))); return; }
    ringer.start();
    document.title = `🔔 ${t('offers.ringing')} · ${t('app.title')}`;
    const cards = [];
    for (const o of offers.values()) {
      const error = h('p.error', { role: 'alert' });
      const photos = h('div.thumbs');
      (o.images || []).forEach(async (url) => photos.append(h('img', { src: await imageUrl(url), alt: t('offers.photo') })));
      const accept = h('button.primary.accept', { type: 'button', onclick: async () => {
        accept.disabled = true;
        try {
          const r = await api(`/api/offers/${o.request_id}/accept`, { method: 'POST' });
          offers.clear();
          ringer.stop();
          go(`#/session/${r.session_id}`);
        } catch (e) { error.textContent = errorText(e); accept.disabled = false; }
      } }, t('offers.accept'));
      const decline = h('button.decline', { type: 'button', onclick: async () => {
        try { await api(`/api/offers/${o.request_id}/decline`, { method: 'POST' }); } catch { /* gone already */ }
        offers.delete(o.request_id);
        paintOffers();
      } }, t('offers.decline'));
      cards.push(h('article.card.offer', { dataset: { request: o.request_id }, 'aria-label': t('offers.ringing') },
        h('p', {}, h('b', {}, `🔔 ${names[o.subject] || o.subject}`), ' · ', (o.grade ? t(`grade.${o.grade}`) : ''), o.mode === 'chosen' ? h('span.pill', {}, t('offers.chose_you')) : null),
        h('p.offer-text', {}, o.text),
        (o.knowledge_point_names || o.knowledge_points || []).map((k) => h('span.pill', {}, k)),
        photos, error, h('div.row', {}, accept, decline)));
    }
    clear(offersBox, cards);
    offersBox.querySelector('button.accept').focus();
  };
  const loadOffers = async () => {
    offers.clear();
    if (duty.on_duty) (await api('/api/offers').catch(() => [])).forEach((o) => offers.set(o.request_id, o));
    paintOffers();
  };
  const live = app.live;
  const offs = [
    live.on('offer', (d) => { offers.set(d.request_id, d); paintOffers(); }),
    live.on('offer_withdrawn', (d) => { offers.delete(d.request_id); paintOffers(); }),
    live.on('off_duty', async () => { duty = await api('/api/duty'); paintDuty(); loadOffers(); }),
    live.on('matched', (d) => go(`#/session/${d.session_id}`)),
    live.on('resync', () => loadOffers()),
  ];
  const heartbeat = setInterval(async () => {
    if (!duty.on_duty) return;
    try { duty = await api('/api/duty/heartbeat', { method: 'POST' }); } catch { duty = await api('/api/duty').catch(() => duty); }
    paintDuty();
  }, 20000);
  onLeave(() => { ringer.stop(); clearInterval(heartbeat); offs.forEach((off) => off()); document.title = t('app.title'); });

  // --- archive
  const today = serviceDay();
  const to = addDays(today, 1);  // exclusive, for the API
  const from = addDays(today, -183);
  const [figures, sessions] = await Promise.all([api(`/api/stats/tutors/me?from=${from}&to=${to}`).catch(() => ({})), api('/api/sessions')]);
  const kpi = (key, value) => h('div', {}, h('b', {}, value ?? 0), t(key));
  const archive = h('section.card', { id: 'archive' }, h('h2', {}, t('archive.title')), h('p.muted', {}, t('archive.period', { from, to: today })),
    h('div.kpis', { id: 'archive-figures' }, kpi('archive.sessions', figures.sessions), kpi('archive.minutes', figures.live_minutes),
      kpi('archive.rating', figures.average_rating != null ? Number(figures.average_rating).toFixed(2) : '—'), kpi('archive.points', figures.points),
      kpi('archive.lessons', figures.lessons), kpi('archive.lesson_views', figures.lesson_views)),
    h('p', { id: 'archive-export' }, t('archive.export'), ' ', exportButtons('/api/stats/archive', { from, to })),
    h('h2', {}, t('archive.sessions_list')), sessionsTable(sessions, names));

  view.append(h('div.two', {}, h('div', {}, h('section.card', { id: 'duty' }, h('h2', {}, t('duty.title')), dutyState, dutyError, dutyButton),
    h('section.card', {}, h('h2', {}, t('offers.title')), offersBox)), h('div', {}, archive, appCard)));
  await loadOffers();
}
