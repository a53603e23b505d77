// One-to-many classes: the list (students enrol, tutors schedule and cancel) and the live class
// view for both (the tutor's board, chat, hands, the floor, mute; the student's board and hand).
// Audio: ONE RTCPeerConnection to the service's media room; a student's microphone is attached
// only while they hold the floor (replaceTrack, no renegotiation).
import { api } from '../api.js';
import { Board } from '../board.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatTime } from '../i18n.js';
import { flash, go, onLeave } from '../nav.js';

export default async function classes(view, { params, name, app }) {
  if (name === 'room') return room(view, Number(params[0]), app);
  return list(view, app);
}

async function list(view, app) {
  const me = app.me;
  const box = h('ul.class-list', { id: 'class-list' });
  const paint = async () => {
    const rows = await api('/api/classes');
    clear(box, rows.length ? rows.map((c) => h('li', { dataset: { classId: c.id } },
      h('strong', {}, c.title), ' ', h('span.muted', {}, `${formatTime(c.starts_at)} · ${c.minutes} ${t('class.minutes')} · ${c.tutor_name} · ${c.enrolled}/${c.capacity}`),
      c.recording ? h('span.muted', {}, ` · ${t('class.recorded')}`) : null, ' ',
      me.role === 'student' && !c.me_enrolled && c.state === 'scheduled'
        ? h('button.enrol', { type: 'button', onclick: () => act(`/api/classes/${c.id}/enrolment`, 'POST') }, t('class.enrol')) : null,
      me.role === 'student' && c.me_enrolled ? h('span.ok.enrolled', {}, t('class.enrolled')) : null, ' ',
      (me.role === 'tutor' || c.me_enrolled) ? h('a.button.enter', { href: `#/class/${c.id}` }, t('class.enter')) : null, ' ',
      me.role === 'tutor' && c.state === 'scheduled'
        ? h('button.danger.cancel-class', { type: 'button', onclick: () => act(`/api/classes/${c.id}/cancel`, 'POST') }, t('class.cancel')) : null))
      : [h('li.muted', {}, t('class.none'))]);
  };
  const act = async (path, method) => { try { await api(path, { method }); await paint(); } catch (e) { flash(errorText(e)); } };
  const parts = [h('h1', {}, t('class.title')), box];
  if (me.role === 'tutor') parts.push(scheduleForm(paint));
  clear(view, parts);
  await paint();
  onLeave(app.live.on('class_cancelled', () => paint()));
}

function scheduleForm(done) {
  const field = (label, input) => h('label', {}, label, input);
  const title = h('input', { name: 'title', id: 'class-title', required: true, minlength: 2, maxlength: 200 });
  const subject = h('input', { name: 'subject', required: true, value: 'math' });
  const band = h('select', { name: 'band' }, h('option', { value: 'junior' }, t('class.junior')), h('option', { value: 'senior' }, t('class.senior')));
  const starts = h('input', { name: 'starts_at', id: 'class-starts', type: 'datetime-local', required: true });
  const minutes = h('input', { name: 'minutes', type: 'number', min: 5, max: 30, value: '30' });
  const capacity = h('input', { name: 'capacity', type: 'number', min: 1, max: 200, value: '50' });
  const description = h('textarea', { name: 'description', maxlength: 2000 });
  const kps = h('input', { name: 'knowledge_point_ids', placeholder: '12, 15' });
  const recording = h('input', { name: 'recording', type: 'checkbox' });
  return h('form.card', { id: 'schedule-class', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('/api/classes', { method: 'POST', json: {
        title: title.value, subject: subject.value, band: band.value, description: description.value,
        starts_at: new Date(starts.value).toISOString(), minutes: Number(minutes.value), capacity: Number(capacity.value),
        recording: recording.checked, knowledge_point_ids: kps.value.split(/[,\s]+/).filter(Boolean).map(Number) } });
      e.target.reset();
      flash(t('class.scheduled'), 'ok');
      await done();
    } catch (err) { flash(errorText(err)); }
  } }, h('h2', {}, t('class.schedule')), field(t('class.f_title'), title), field(t('class.f_subject'), subject),
  field(t('class.f_band'), band), field(t('class.f_starts'), starts), field(t('class.f_minutes'), minutes),
  field(t('class.f_capacity'), capacity), field(t('class.f_kps'), kps), field(t('class.f_description'), description),
  field(t('class.f_recording'), recording), h('button.primary', { type: 'submit' }, t('class.schedule')));
}

async function room(view, classId, app) {
  const me = app.me;
  const live = app.live;
  const tutor = me.role === 'tutor';
  const state = { floor: null, people: new Map(), hands: new Set(), pc: null, mic: null, audioSender: null };
  const status = h('p', { id: 'class-status', role: 'status' });
  const notice = h('p.muted', { id: 'class-notice' });
  const canvas = h('canvas', { id: 'board', 'aria-label': t('board.label'), role: 'img' });
  const board = new Board(canvas, tutor ? {
    onStroke: (st) => live.send({ type: 'class_stroke', class_id: classId, ...st }),
    onAction: (a) => live.send({ type: 'class_board', class_id: classId, ...a }),
  } : {});
  if (!tutor) canvas.style.pointerEvents = 'none';
  const audio = h('audio', { id: 'class-audio', autoplay: true });
  const people = h('ul', { id: 'participants', 'aria-label': t('class.participants') });
  const log = h('ul.chat-log', { id: 'chat-log', 'aria-live': 'polite' });
  const input = h('input', { id: 'chat-input', maxlength: 1000, placeholder: t('chat.hint'), autocomplete: 'off' });
  const chat = h('form.row', { onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) live.send({ type: 'class_chat', class_id: classId, text: input.value }); input.value = ''; } },
    input, h('button', { type: 'submit' }, t('chat.send')));
  let handUp = false;
  const hand = h('button', { type: 'button', id: 'raise-hand', onclick: () => { handUp = !handUp; live.send({ type: 'class_hand', class_id: classId, up: handUp }); hand.textContent = handUp ? t('class.lower_hand') : t('class.raise_hand'); } }, t('class.raise_hand'));
  const controls = tutor ? h('div.row', {},
    h('button', { type: 'button', id: 'take-floor', onclick: () => live.send({ type: 'class_floor', class_id: classId, student_id: null }) }, t('class.take_floor')),
    h('button', { type: 'button', id: 'mute-chat', onclick: (e) => { const m = e.target.getAttribute('aria-pressed') !== 'true'; e.target.setAttribute('aria-pressed', String(m)); live.send({ type: 'class_mute', class_id: classId, muted: m }); } }, t('class.mute_chat')),
    h('button.danger', { type: 'button', id: 'end-class', onclick: () => { if (confirm(t('class.end_confirm'))) live.send({ type: 'class_end', class_id: classId }); } }, t('class.end')))
    : h('div.row', {}, hand, h('button', { type: 'button', id: 'leave-class', onclick: () => { live.send({ type: 'class_leave', class_id: classId }); go('#/classes'); } }, t('class.leave')));

  const paintPeople = () => clear(people, [...state.people.values()].map((p) => h('li', { dataset: { userId: p.id } },
    p.name, state.hands.has(p.id) ? ` ✋ ${t('class.hand')}` : '', state.floor === p.id ? ` 🎤 ${t('class.on_floor')}` : '', p.muted ? ` (${t('class.muted')})` : '', p.audio_muted ? ` 🔇 ${t('class.voice_muted')}` : '',
    tutor ? h('button', { type: 'button', class: 'give-floor', onclick: () => live.send({ type: 'class_floor', class_id: classId, student_id: p.id }) }, t('class.give_floor')) : null,
    tutor ? h('button', { type: 'button', class: 'mute-student', onclick: () => live.send({ type: 'class_mute', class_id: classId, student_id: p.id, muted: !p.muted }) }, p.muted ? t('class.unmute') : t('class.mute')) : null,
    tutor ? h('button', { type: 'button', class: 'mute-voice', onclick: () => live.send({ type: 'class_mute', class_id: classId, student_id: p.id, muted: !p.audio_muted, audio: true }) }, p.audio_muted ? t('class.unmute_voice') : t('class.mute_voice')) : null)));
  const paintStatus = () => { status.textContent = state.floor === me.id ? t('class.you_have_floor') : state.floor ? t('class.floor_is', { name: (state.people.get(state.floor) || {}).name || '' }) : ''; };

  const setMic = async () => {
    if (tutor || !state.audioSender) return;
    if (state.floor === me.id && !state.voiceMuted) {  // the service drops a muted voice anyway; the page stops sending it
      if (!state.mic) state.mic = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
      await state.audioSender.replaceTrack(state.mic ? state.mic.getAudioTracks()[0] : null);
    } else {
      await state.audioSender.replaceTrack(null);
    }
  };
  const connectMedia = async () => {
    const ice = await api('/api/live/ice-servers').catch(() => ({ ice_servers: [] }));
    const pc = new RTCPeerConnection({ iceServers: ice.ice_servers || ice.iceServers || [] });
    state.pc = pc;
    if (tutor) {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
      state.mic = mic;
      if (mic) pc.addTrack(mic.getAudioTracks()[0], mic); else pc.addTransceiver('audio', { direction: 'recvonly' });
    } else {
      state.audioSender = pc.addTransceiver('audio', { direction: 'sendrecv' }).sender;
    }
    pc.ontrack = (e) => { audio.srcObject = e.streams[0] || new MediaStream([e.track]); audio.play().catch(() => {}); };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((ok) => { if (pc.iceGatheringState === 'complete') ok(); else { pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') ok(); }; setTimeout(ok, 3000); } });
    live.send({ type: 'class_signal', class_id: classId, kind: 'offer', sdp: pc.localDescription.sdp });
  };

  const offs = [
    live.on('class_signal', async (d) => { if (d.class_id === classId && state.pc) { await state.pc.setRemoteDescription({ type: 'answer', sdp: d.sdp }); await setMic(); } }),
    live.on('class_stroke', (d) => { if (d.class_id === classId) board.addRemote({ ...d, from: 'tutor' }); }),
    live.on('class_board', (d) => { if (d.class_id === classId) board.remoteAction({ ...d, from: 'tutor' }); }),
    live.on('class_chat', (d) => { if (d.class_id === classId) { log.append(h('li', {}, `${d.name}: ${d.text}`)); log.scrollTop = log.scrollHeight; } }),
    live.on('class_joined', (d) => { if (d.class_id === classId) { state.people.set(d.user_id, { id: d.user_id, name: d.name, muted: false }); paintPeople(); } }),
    live.on('class_left', (d) => { if (d.class_id === classId) { state.people.delete(d.user_id); state.hands.delete(d.user_id); paintPeople(); } }),
    live.on('class_hand', (d) => { if (d.class_id === classId) { if (d.up) state.hands.add(d.user_id); else state.hands.delete(d.user_id); paintPeople(); } }),
    live.on('class_floor', async (d) => { if (d.class_id === classId) { state.floor = d.student_id; state.hands.delete(d.student_id); if (d.student_id === me.id) { handUp = false; hand.textContent = t('class.raise_hand'); } paintPeople(); paintStatus(); await setMic(); } }),
    live.on('class_muted', async (d) => { if (d.class_id === classId) { if (d.student_id === null) notice.textContent = d.muted ? t('class.chat_muted') : ''; else if (d.audio) {
      const p = state.people.get(d.student_id); if (p) p.audio_muted = d.muted;
      if (d.student_id === me.id) { state.voiceMuted = d.muted; notice.textContent = d.muted ? t('class.your_voice_muted') : ''; await setMic(); }
      paintPeople();
    } else { const p = state.people.get(d.student_id); if (p) p.muted = d.muted; paintPeople(); } } }),
    live.on('class_media_moved', async (d) => { if (d.class_id === classId && state.pc) { state.pc.close(); if (tutor && state.mic) state.mic.getTracks().forEach((x) => x.stop()); await connectMedia(); } }),  // the room's instance died: offer to the one that took it over
    live.on('class_ended', (d) => { if (d.class_id === classId) { status.textContent = t('class.ended'); if (state.pc) state.pc.close(); } }),
    live.on('server_error', (f) => { if (f.detail) flash(errorText({ code: f.error, detail: f.detail, extra: f })); }),
  ];
  const joined = new Promise((ok) => {
    const off = live.on('class_state', (f) => { if (f.class_id === classId) { off(); ok(f); } });
    offs.push(off);
  });
  onLeave(() => { app.classRoom = null; offs.forEach((off) => off()); if (state.pc) state.pc.close(); if (state.mic) state.mic.getTracks().forEach((x) => x.stop()); board.destroy(); });

  const info = await api(`/api/classes/${classId}`);
  clear(view, h('h1', {}, info.title), status, notice, controls, h('div.class-room', {}, h('div.board', {}, canvas), h('aside', {}, h('h2', {}, t('class.participants')), people, log, chat)), audio);
  live.send({ type: 'class_join', class_id: classId, ref: `join-${classId}` });
  const s = await joined;
  if (s.recording) notice.textContent = t('class.recording_notice');
  s.participants.forEach((p) => { state.people.set(p.id, p); if (p.hand) state.hands.add(p.id); });
  state.voiceMuted = !!(state.people.get(me.id) || {}).audio_muted;
  if (state.voiceMuted) notice.textContent = t('class.your_voice_muted');
  state.floor = s.floor;
  s.board.forEach((st) => board.replay(st, 'tutor'));
  paintPeople();
  paintStatus();
  app.classRoom = { board, state, classId };  // for the browser tests
  await connectMedia();
}
