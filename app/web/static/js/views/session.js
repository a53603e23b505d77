// The live session, the same for student and tutor: audio, whiteboard, images, chat,
// the countdown to the cap, the other side's connection, hang-up.
import { api, imageUrl, uploadImage, serverNow } from '../api.js';
import { Board } from '../board.js';
import { h, clear } from '../dom.js';
import { t, errorText, formatDuration } from '../i18n.js';
import { go, onLeave, flash } from '../nav.js';
import { Call } from '../rtc.js';

const COLORS = ['#1d2330', '#c0262d', '#1f6feb', '#17803d'];

export default async function session(view, { params, app }) {
  const sessionId = Number(params[0]);
  const me = app.me;
  const live = app.live;
  const s = await api(`/api/sessions/${sessionId}`);
  if (s.state === 'ended') { go(me.role === 'student' && s.live_at && !s.rating ? `#/rate/${sessionId}` : home(me)); return; }
  const role = me.role === 'student' ? 'student' : 'tutor';

  // --- status bar: countdown, peer, media, mute, hang-up
  const countdown = h('span.countdown', { id: 'countdown', role: 'timer', 'aria-live': 'off' }, '--:--');
  const peer = h('span', { id: 'peer-status', role: 'status', 'aria-live': 'polite' }, t('session.waiting_peer'));
  const mediaState = h('span.muted', { id: 'media-status' }, t('media.new'));
  const peerMute = h('span.warn', { id: 'peer-muted', role: 'status', 'aria-live': 'polite' });
  const warning = h('div', { id: 'session-warning', role: 'alert' });
  let muted = false;
  const mute = h('button', { type: 'button', id: 'mute', 'aria-pressed': 'false', onclick: () => {
    muted = !muted;
    call.setMuted(muted);
    live.send({ type: 'media', session_id: sessionId, state: muted ? 'muted' : 'unmuted' });  // shown on the other side
    mute.setAttribute('aria-pressed', String(muted));
    mute.textContent = muted ? t('session.unmute') : t('session.mute');
  } }, t('session.mute'));
  const hangup = h('button.danger', { type: 'button', id: 'hangup', onclick: async () => {
    if (!confirm(t('session.hangup_confirm'))) return;
    hangup.disabled = true;
    try { await api(`/api/sessions/${sessionId}/hangup`, { method: 'POST' }); } catch (e) { hangup.disabled = false; flash(errorText(e)); }
  } }, t('session.hangup'));

  // --- whiteboard
  const canvas = h('canvas', { id: 'board', 'aria-label': t('board.label'), role: 'img' });
  const board = new Board(canvas, {
    onStroke: (st) => live.send({ type: 'stroke', session_id: sessionId, ...st }),
    onAction: (a) => live.send({ type: 'board', session_id: sessionId, ...a }),
  });
  const toolButtons = [];
  const toolButton = (label, id, press) => {
    const b = h('button', { type: 'button', id, 'aria-pressed': 'false', onclick: () => { press(); toolButtons.forEach((x) => x.setAttribute('aria-pressed', String(x === b))); } }, label);
    toolButtons.push(b);
    return b;
  };
  const pen = toolButton(t('board.pen'), 'tool-pen', () => { board.tool = 'pen'; });
  const eraser = toolButton(t('board.eraser'), 'tool-eraser', () => { board.tool = 'eraser'; });
  pen.setAttribute('aria-pressed', 'true');
  const swatches = COLORS.map((c, i) => h('button.swatch', { type: 'button', 'aria-label': t(`board.color${i}`), title: t(`board.color${i}`), onclick: () => { board.color = c; board.tool = 'pen'; pen.click(); } }, h('span', { style: `background:${c}` })));
  const tools = h('div.tools', { role: 'toolbar', 'aria-label': t('board.tools') }, pen, eraser, swatches,
    h('button', { type: 'button', id: 'board-undo', onclick: () => board.undo() }, t('board.undo')),
    h('button', { type: 'button', id: 'board-clear', onclick: () => { if (confirm(t('board.clear_confirm'))) board.clear(); } }, t('board.clear')));

  // --- images
  const shared = h('div.shared', { id: 'shared-images' });
  const viewer = h('dialog.viewer', { onclick: () => viewer.close() }, h('img', { alt: '' }));
  const showImage = async (url) => {
    const img = h('img', { alt: t('session.shared_image'), tabindex: 0 });
    img.src = await imageUrl(url);
    const open = () => { viewer.firstChild.src = img.src; viewer.showModal(); };
    img.addEventListener('click', open);
    img.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    shared.prepend(img);
  };
  const share = h('input', { type: 'file', accept: 'image/*', id: 'share-image', style: 'display:none', onchange: async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    try { const img = await uploadImage(file); live.send({ type: 'image', session_id: sessionId, image_id: img.id }); } catch (err) { flash(errorText(err)); }
  } });

  // --- chat
  const log = h('ul.chat-log', { id: 'chat-log', 'aria-live': 'polite', 'aria-label': t('chat.label') });
  const say = (cls, text) => { log.append(h(`li.${cls}`, {}, text)); log.scrollTop = log.scrollHeight; };
  // A chat line says who and when: 我, or the tutor by name (a student's view) / 学生 (a tutor's view).
  const speaker = (from) => (from === me.id ? t('record.me') : role === 'student' ? (s.tutor_name || t('record.tutor')) : t('record.student'));
  const hhmm = (at) => new Date(at).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit' });
  const sayChat = (from, text, at) => {
    log.append(h(`li.${from === me.id ? 'me' : 'them'}`, {}, h('span.meta', {}, `${speaker(from)} · ${hhmm(at)}`), h('br'), text));
    log.scrollTop = log.scrollHeight;
  };
  const input = h('input', { type: 'text', id: 'chat-input', maxlength: 1000, placeholder: t('chat.hint'), 'aria-label': t('chat.hint'), autocomplete: 'off' });
  const chatForm = h('form.row', { onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    live.send({ type: 'chat', session_id: sessionId, text });
    input.value = '';
  } }, h('div', { style: 'flex:1' }, input), h('button.primary', { type: 'submit', id: 'chat-send' }, t('chat.send')));

  view.append(
    h('h1', {}, t('session.title')),
    h('div.card.session-bar', {}, countdown, peer, peerMute, mediaState, mute, hangup),
    warning,
    h('div.session', {},
      h('section', { 'aria-label': t('board.label') }, tools, h('div.board-wrap', {}, canvas)),
      h('section', {},
        h('h2', {}, t('chat.title')), log, chatForm,
        h('h2', {}, t('session.images')),
        h('div.row', {}, h('label.button', { for: 'share-image' }, t('session.share_image')), share),
        shared)),
    viewer);

  // --- the call
  const call = new Call(live, sessionId, role);
  call.addEventListener('state', (e) => { mediaState.textContent = t(`media.${e.detail}`); });
  call.addEventListener('mic', () => say('sys', t('session.no_mic')));
  app.call = call;
  app.board = board;

  // The request's own photos, large, for both sides.
  api(`/api/help-requests/${s.request_id}`).then((r) => {
    if (r.text) say('sys', `${t('session.question')}: ${r.text}`);
    r.images.forEach((img) => showImage(img.url));
  }).catch(() => {});

  // Transcript so far (a reload mid-session keeps the board and chat).
  try {
    for (const item of await api(`/api/sessions/${sessionId}/transcript`)) {
      const b = item.body || {};
      if (item.kind === 'chat') sayChat(item.sender_id, b.text, item.at);
      else if (item.kind === 'stroke') board.replay(b, item.sender_id === me.id ? 'me' : item.sender_id);
      else if (item.kind === 'board') board.remoteAction({ ...b, from: item.sender_id === me.id ? 'me' : item.sender_id });
    }
  } catch { /* a transcript is a convenience here */ }

  let endsAt = null;
  const tick = () => {
    if (!endsAt) return;
    const left = (endsAt - serverNow()) / 1000;
    countdown.textContent = formatDuration(left);
    countdown.classList.toggle('low', left <= 60);
  };
  const setLive = (endsAtMs) => { endsAt = endsAtMs; tick(); };
  if (s.state === 'live' && s.live_at && s.cap_s) setLive(new Date(s.live_at).getTime() + s.cap_s * 1000);
  const timer = setInterval(tick, 1000);

  const mine = (d) => d.session_id === sessionId;
  // Signals are handled one at a time, in order; those that arrive before the call is set up wait in live.pending.
  let started = false;
  let chain = Promise.resolve();
  const handle = (d) => { chain = chain.then(() => call.onSignal(d)).catch((e) => console.warn('signal', e)); return chain; };
  const onSignal = (d) => { if (mine(d) && started) live.takeSignals(sessionId).forEach(handle); };
  const offs = [
    live.on('signal', onSignal),
    live.on('session_live', (d) => { if (mine(d)) { setLive(d.ends_at * 1000); say('sys', t('session.live')); } }),
    live.on('session_warning', (d) => { if (mine(d)) { const m = t('session.warning', { min: Math.round(d.seconds_left / 60) }); clear(warning, h('p.notice.warn', {}, m)); say('sys', m); } }),
    live.on('peer_connection', (d) => { if (mine(d)) { peer.textContent = t(`peer.${d.state}`); peer.className = d.state === 'lost' ? 'bad' : 'ok'; say('sys', t(`peer.${d.state}`)); } }),
    live.on('peer_media', (d) => {
      if (!mine(d)) return;
      if (d.state === 'muted' || d.state === 'unmuted') { peerMute.textContent = d.state === 'muted' ? t('peer.muted') : ''; return; }
      peer.textContent = t(`peer.media_${d.state}`);
      peer.className = d.state === 'connected' ? 'ok' : 'bad';
    }),
    live.on('chat', (d) => { if (mine(d)) sayChat(d.from, d.text + (d.masked ? ` ${t('chat.masked')}` : ''), serverNow()); }),
    live.on('stroke', (d) => { if (mine(d) && d.from !== me.id) board.addRemote(d); }),
    live.on('board', (d) => { if (mine(d) && d.from !== me.id) board.remoteAction(d); }),
    live.on('image', (d) => { if (mine(d)) showImage(d.url); }),
    live.on('session_ended', (d) => {
      if (!mine(d)) return;
      flash(t('session.ended', { reason: t(`end.${d.reason}`), duration: formatDuration(d.duration_s) }), 'info', true);
      go(role === 'student' ? `#/rate/${sessionId}` : home(me));
    }),
    live.on('state', (st) => {
      if (st === 'online') { call.reannounce(); say('sys', t('conn.back')); } else if (st === 'offline') say('sys', t('conn.lost'));
    }),
  ];
  onLeave(() => { clearInterval(timer); offs.forEach((off) => off()); call.close(); board.destroy(); app.call = null; app.board = null; });
  await call.start();
  started = true;
  live.takeSignals(sessionId).forEach(handle);
}

function home(me) { return me.role === 'student' ? '#/history' : '#/tutor'; }
