// Navigation and the signed-in state, shared by the shell and every view. Views import this module,
// never main.js: main.js loads the views, so an import back up would make a circle.
import { signOut } from './api.js';
import { t } from './i18n.js';
import { Live } from './live.js';

export const app = { me: null, live: null, cleanup: [] };
window.__tutoring = app;  // what the page is doing, for the browser tests and for support

export function home() {
  const r = app.me && app.me.role;
  return r === 'student' ? '#/ask' : r === 'tutor' ? '#/tutor' : r ? '#/admin' : '#/sign-in';
}

/** Show `hash`; asking for the one already shown draws it again. */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new Event('tutoring:render'));
  else location.hash = hash;
}

let keepFlash = false;
/** Show a message above the view; `keep` lets it survive the navigation that follows. */
export function flash(msg, kind = 'error', keep = false) {
  keepFlash = keep;
  const el = document.getElementById('flash');
  el.className = kind;
  el.textContent = msg || '';
}

/** On navigation: the message goes, unless it was meant to survive this one. */
export function fadeFlash() {
  if (!keepFlash) flash('');
  keepFlash = false;
}

/** Run fn when the current view goes away (timers, listeners, calls). */
export function onLeave(fn) { app.cleanup.push(fn); }

export function paintConn(state) {
  const el = document.getElementById('conn');
  el.textContent = app.me ? t(`conn.${state}`) : '';
  el.classList.toggle('offline', state === 'offline');
}

export async function startSession(me) {
  app.me = me;
  app.live = new Live();
  app.live.on('state', (s) => paintConn(s));
  app.live.on('signed_out', () => endSession());
  await app.live.start();
}

export async function endSession() {
  if (app.live) app.live.stop();
  app.live = null;
  app.me = null;
  await signOut();
  go('#/sign-in');
}
