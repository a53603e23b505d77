// The shell: sign-in state, language switch, navigation by role, and the hash router.
import { api, signOut, signedIn, syncClock } from './api.js';
import { h, clear } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import { app, home, go, fadeFlash, flash, paintConn, startSession, endSession } from './nav.js';

const routes = [
  [/^#\/sign-in$/, () => import('./views/signin.js')],
  [/^#\/ask$/, () => import('./views/student.js'), 'ask'],
  [/^#\/wait\/(\d+)$/, () => import('./views/student.js'), 'wait'],
  [/^#\/rate\/(\d+)$/, () => import('./views/student.js'), 'rate'],
  [/^#\/history$/, () => import('./views/student.js'), 'history'],
  [/^#\/session\/(\d+)$/, () => import('./views/session.js')],
  [/^#\/tutor$/, () => import('./views/tutor.js')],
  [/^#\/classes$/, () => import('./views/classes.js'), 'list'],
  [/^#\/class\/(\d+)$/, () => import('./views/classes.js'), 'room'],
  [/^#\/admin$/, () => import('./views/admin.js')],
  [/^#\/dashboard$/, () => import('./views/dashboard.js')],
  [/^#\/apply$/, () => import('./views/apply.js')],
  [/^#\/account$/, () => import('./views/account.js')],
  [/^#\/record\/(\d+)$/, () => import('./views/record.js')],
  [/^#\/reports$/, () => import('./views/reports.js')],
  [/^#\/calendar$/, () => import('./views/calendar.js')],
  [/^#\/tables$/, () => import('./views/tables.js')],
  [/^#\/people$/, () => import('./views/people.js')],
  [/^#\/qa$/, () => import('./views/qa.js'), 'student'],
  [/^#\/qa\/(\d+)$/, () => import('./views/qa.js'), 'question'],
  [/^#\/qa-feed$/, () => import('./views/qa.js'), 'feed'],
  [/^#\/qa-admin$/, () => import('./views/qa.js'), 'admin'],
  [/^#\/lessons\/mine$/, () => import('./views/lessons.js'), 'mine'],
  [/^#\/lessons\/review$/, () => import('./views/lessons.js'), 'review'],
  [/^#\/lessons(?:\?(.*))?$/, () => import('./views/lessons.js'), 'catalogue'],
  [/^#\/lesson\/(\d+)$/, () => import('./views/lessons.js'), 'player'],
];
// Pages a visitor reaches without signing in.
const PUBLIC = new Set(['#/sign-in', '#/apply']);
const ADMIN_NAV = [['#/admin', 'nav.admin'], ['#/dashboard', 'nav.dashboard'], ['#/tables', 'nav.tables'],
  ['#/people', 'nav.people'], ['#/reports', 'nav.reports'], ['#/qa-admin', 'nav.qa_admin'], ['#/calendar', 'nav.calendar'], ['#/lessons/review', 'nav.lesson_review'], ['#/account', 'nav.account']];

const NAV = {
  student: [['#/ask', 'nav.ask'], ['#/history', 'nav.history'], ['#/qa', 'nav.qa'], ['#/classes', 'nav.classes'], ['#/lessons', 'nav.lessons'], ['#/account', 'nav.account']],
  tutor: [['#/tutor', 'nav.tutor'], ['#/qa-feed', 'nav.qa_feed'], ['#/classes', 'nav.classes'], ['#/lessons/mine', 'nav.my_lessons'], ['#/account', 'nav.account']],
  school_admin: ADMIN_NAV,
  district_admin: ADMIN_NAV,
  city_admin: ADMIN_NAV,
};

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
async function render() {
  const ticket = ++rendering;
  app.cleanup.splice(0).forEach((fn) => { try { fn(); } catch { /* view already gone */ } });
  const view = document.getElementById('view');
  if (!app.me && signedIn()) {
    try { await startSession(await api('/api/auth/me')); } catch { await signOut(); }
  }
  let hash = location.hash || home();
  if (!app.me && !PUBLIC.has(hash)) hash = '#/sign-in';
  if (app.me && (PUBLIC.has(hash) || hash === '#/')) hash = home();
  if (hash !== location.hash) { history.replaceState(null, '', hash); }
  paintShell();
  const found = routes.find(([re]) => re.test(hash));
  if (!found) { go(home()); return; }
  const [re, load, name] = found;
  const params = hash.match(re).slice(1);
  const mod = await load();
  if (ticket !== rendering) return;
  // Each page draws into its own element: a slow page still drawing when the user navigates on
  // fills a detached element, not the next page.
  const page = h('div.page');
  clear(view, page);
  try {
    await mod.default(page, { params, name, app });
  } catch (e) {
    flash(String(e.message || e));
  }
}

document.getElementById('lang-switch').addEventListener('click', () => { setLang(lang() === 'en' ? 'zh-CN' : 'en'); render(); });
document.getElementById('sign-out').addEventListener('click', () => endSession());
window.addEventListener('hashchange', () => { fadeFlash(); render(); });
window.addEventListener('tutoring:render', () => render());
setLang(lang());
syncClock().catch(() => {});
render();

