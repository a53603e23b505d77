// My account: change the password (every role). A tutor's profile and application live on their desk.
import { api } from '../api.js';
import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { flash } from '../nav.js';

export default async function account(view, { app }) {
  const old = h('input', { type: 'password', id: 'old-password', autocomplete: 'current-password', required: true });
  const fresh = h('input', { type: 'password', id: 'new-password', autocomplete: 'new-password', minlength: 8, required: true });
  const again = h('input', { type: 'password', id: 'new-password-again', autocomplete: 'new-password', minlength: 8, required: true });
  const error = h('p.error', { id: 'password-error', role: 'alert' });
  const form = h('form.card', { id: 'password-form', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (fresh.value.length < 8) { error.textContent = t('account.too_short'); return; }
    if (fresh.value !== again.value) { error.textContent = t('account.mismatch'); return; }
    try {
      await api('/api/auth/password', { method: 'POST', json: { old_password: old.value, new_password: fresh.value } });
      form.reset();
      flash(t('account.changed'), 'info');
    } catch (err) { error.textContent = errorText(err); }
  } },
  h('h2', {}, t('account.password')),
  h('label', { for: 'old-password' }, t('account.old')), old,
  h('label', { for: 'new-password' }, t('account.new')), fresh,
  h('label', { for: 'new-password-again' }, t('account.again')), again, error,
  h('div.row', {}, h('button.primary', { type: 'submit', id: 'password-submit' }, t('account.change'))));
  view.append(h('h1', {}, t('account.title')),
    h('p.muted', { id: 'account-who' }, t('account.who', { name: app.me.real_name, username: app.me.username, role: t(`role.${app.me.role}`) })),
    form);
}
