// The shell: sign-in state, language switch, navigation by role, and the hash router.
import { api, signOut, signedIn, syncClock } from './api.js';
import { h, clear } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import { Live } from './live.js';

const routes = [
  [/^#\/sign-in$/, () => import('./views/signin.js')],
  [/^#\/ask$/, () => import('./views/student.js'), 'ask'],
  [/^#\/wait\/(\d+)$/, () => import('./views/student.js'), 'wait'],
  [/^#\/rate\/(\d+)$/, () => import('./views/student.js'), 'rate'],
  [/^#\/history$/, () => import('./views/student.js'), 'history'],
  [/^#\/session\/(\d+)$/, () => import('./views/session.js')],
  [/^#\/tutor$/, () => import('./views/tutor.js')],
  [/^#\/admin$/, () => import('./views/admin.js')],
  [/^#\/dashboard$/, () => import('./views/dashboard.js')],
  [/^#\/lessons\/mine$/, () => import('./views/lessons.js'), 'mine'],
  [/^#\/lessons\/review$/, () => import('./views/lessons.js'), 'review'],
  [/^#\/lessons(?:\?(.*))?$/, () => import('./views/lessons.js'), 'catalogue'],
  [/^#\/lesson\/(\d+)$/, () => import('./views/lessons.js'), 'player'],
];

const NAV = {
  student: [['#/ask', 'nav.ask'], ['#/history', 'nav.history'], ['#/lessons', 'nav.lessons']],
  tutor: [['#/tutor', 'nav.tutor'], ['#/lessons/mine', 'nav.my_lessons']],
  school_admin: [['#/admin', 'nav.admin'], ['#/dashboard', 'nav.dashboard'], ['#/lessons/review', 'nav.lesson_review']],
  district_admin: [['#/admin', 'nav.admin'], ['#/dashboard', 'nav.dashboard'], ['#/lessons/review', 'nav.lesson_review']],
  city_admin: [['#/admin', 'nav.admin'], ['#/dashboard', 'nav.dashboard'], ['#/lessons/review', 'nav.lesson_review']],
};

export const app = { me: null, live: null, cleanup: [] };
window.__tutoring = app;  // what the page is doing, for the browser tests and for support

export function home() {
  const r = app.me && app.me.role;
  return r === 'student' ? '#/ask' : r === 'tutor' ? '#/tutor' : r ? '#/admin' : '#/sign-in';
}

export function go(hash) { if (location.hash === hash) render(); else location.hash = hash; }

let keepFlash = false;
/** Show a message above the view; `keep` lets it survive the navigation that follows. */
export function flash(msg, kind = 'error', keep = false) {
  keepFlash = keep;
  const el = document.getElementById('flash');
  el.className = kind;
  el.textContent = msg || '';
}

/** Run fn when the current view goes away (timers, listeners, calls). */
export function onLeave(fn) { app.cleanup.push(fn); }

export async function startSession(me) {
  app.me = me;
  app.live = new Live();
  app.live.on('state', (s) => paintConn(s));
  app.live.on('signed_out', () => endSession());
  await app.live.start();
}

async function endSession() {
  if (app.live) app.live.stop();
  app.live = null;
  app.me = null;
  await signOut();
  go('#/sign-in');
}

function paintConn(state) {
  const el = document.getElementById('conn');
  el.textContent = app.me ? t(`conn.${state}`) : '';
  el.classList.toggle('offline', state === 'offline');
}

function paintShell() {
  document.title = t('app.title');
  document.getElementById('brand').textContent = t('app.title');
  document.querySelector('.skip').textContent = t('app.skip');
  const sw = document.getElementById('lang-switch');
  sw.textContent = t('app.other_language');  // the other language, named in itself
  sw.setAttribute('aria-label', t('app.switch_language'));
  const out = document.getElementById('sign-out');
  out.hidden = !app.me;
  out.textContent = t('nav.sign_out');
  const links = (app.me && NAV[app.me.role]) || [];
  clear(document.getElementById('nav'), links.map(([href, key]) =>
    h('a', { href, 'aria-current': location.hash.startsWith(href) ? 'page' : null }, t(key))));
  paintConn(app.live ? app.live.state : 'offline');
}

let rendering = 0;
export async function render() {
  const ticket = ++rendering;
  app.cleanup.splice(0).forEach((fn) => { try { fn(); } catch { /* view already gone */ } });
  const view = document.getElementById('view');
  if (!app.me && signedIn()) {
    try { await startSession(await api('/api/auth/me')); } catch { await signOut(); }
  }
  let hash = location.hash || home();
  if (!app.me && hash !== '#/sign-in') hash = '#/sign-in';
  if (app.me && (hash === '#/sign-in' || hash === '#/')) hash = home();
  if (hash !== location.hash) { history.replaceState(null, '', hash); }
  paintShell();
  const found = routes.find(([re]) => re.test(hash));
  if (!found) { go(home()); return; }
  const [re, load, name] = found;
  const params = hash.match(re).slice(1);
  const mod = await load();
  if (ticket !== rendering) return;
  clear(view);
  try {
    await mod.default(view, { params, name, app });
  } catch (e) {
    flash(String(e.message || e));
  }
}

document.getElementById('lang-switch').addEventListener('click', () => { setLang(lang() === 'en' ? 'zh-CN' : 'en'); render(); });
document.getElementById('sign-out').addEventListener('click', () => endSession());
window.addEventListener('hashchange', () => { if (!keepFlash) flash(''); keepFlash = false; render(); });
setLang(lang());
syncClock().catch(() => {});
render();

