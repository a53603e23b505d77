import { signIn } from '../api.js';
import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { startSession, go, home } from '../nav.js';

export default function signin(view) {
  const error = h('p.error', { role: 'alert' });
  const user = h('input', { type: 'text', id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const button = h('button.primary', { type: 'submit' }, t('signin.submit'));
  const form = h('form.card', {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      button.disabled = true;
      try {
        await startSession(await signIn(user.value.trim(), pass.value));
        go(home());
      } catch (err) {
        error.textContent = errorText(err);
      } finally { button.disabled = false; }
    },
  },
  h('label', { for: 'username' }, t('signin.username')), user,
  h('label', { for: 'password' }, t('signin.password')), pass,
  error, h('div.row', {}, button));
  view.append(h('h1', {}, t('signin.title')), h('p.muted', {}, t('signin.intro')), form,
    h('p', { id: 'apply-link' }, t('signin.teacher'), ' ', h('a', { href: '#/apply' }, t('signin.apply'))),
    h('p.muted', {}, t('signin.forgot')));
  user.focus();
}
