// Every user-facing string lives in lang/<code>.js; this module picks the language.
import zh from './lang/zh-CN.js';
import en from './lang/en.js';

export const LANGS = { 'zh-CN': zh, en };
let current = LANGS[localStorage.getItem('lang')] ? localStorage.getItem('lang') : 'zh-CN';

export function lang() { return current; }

export function setLang(code) {
  current = LANGS[code] ? code : 'zh-CN';
  localStorage.setItem('lang', current);
  document.documentElement.lang = current;
}

/** t('wait.position', {n: 3}) → the string with {n} replaced by 3 */
export function t(key, vars = {}) {
  const s = LANGS[current][key] ?? LANGS['zh-CN'][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/** A server error in the user's language: by its stable code, else the server's detail. */
export function errorText(err) {
  const code = err && err.code;
  if (code === 'OutsideServiceWindow') {
    return t('err.OutsideServiceWindow', { next: err.extra.next_opening ? formatTime(err.extra.next_opening) : t('common.unknown') });
  }
  if (code && LANGS[current][`err.${code}`]) return t(`err.${code}`, err.extra || {});
  return (err && err.detail) || t('err.network');
}

export function formatTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(current === 'en' ? 'en-GB' : 'zh-CN',
    { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A subject's name in the current language. */
export function subjectName(s) { return current === 'en' ? s.name_en : s.name_zh; }
