// A teacher applies to tutor (public: no account yet). The application is then reviewed by the
// school, the district and the city; the applicant signs in to follow it.
import { api } from '../api.js';
import { h, clear } from '../dom.js';
import { t, errorText, subjectName } from '../i18n.js';

export default async function apply(view) {
  const subjects = await api('/api/subjects');
  const field = (id, label, attrs = {}) => {
    const input = h('input', { id, name: id, ...attrs });
    return [h('label', { for: id }, t(label)), input];
  };
  const [pLabel, password] = field('apply-password', 'apply.password', { type: 'password', required: true, minlength: 8, maxlength: 128, autocomplete: 'new-password' });
  const [nLabel, realName] = field('apply-name', 'apply.real_name', { type: 'text', required: true, minlength: 2, maxlength: 64 });
  const [sLabel, school] = field('apply-school', 'apply.school_code', { type: 'text', required: true, maxlength: 32 });
  const title = h('select', { id: 'apply-title' }, ['senior', 'intermediate', 'junior'].map((v) => h('option', { value: v }, t(`title.${v}`))));
  title.value = 'intermediate';
  const subjectBoxes = subjects.map((s) => h('label.inline', {}, h('input', { type: 'checkbox', name: 'subjects', value: s.code }), ' ', subjectName(s)));
  const bandBoxes = ['junior', 'senior'].map((b) => h('label.inline', {}, h('input', { type: 'checkbox', name: 'bands', value: b }), ' ', t(`band.${b}`)));
  const fields = h('input', { type: 'text', id: 'apply-fields', maxlength: 500, placeholder: t('apply.fields_hint') });
  const bio = h('textarea', { id: 'apply-bio', maxlength: 2000 });
  const result = h('div', { id: 'apply-result', role: 'alert' });
  const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((x) => x.value);
  const form = h('form.card', { id: 'apply-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(result);
    const body = { password: password.value, real_name: realName.value.trim(), school_code: school.value.trim(),
                   title: title.value, subjects: checked('subjects'), grade_bands: checked('bands'), fields: fields.value.trim(), bio: bio.value.trim() };
    if (!body.subjects.length) { clear(result, h('p.error', {}, t('apply.need_subject'))); return; }
    if (!body.grade_bands.length) { clear(result, h('p.error', {}, t('apply.need_band'))); return; }
    try {
      const made = await api('/api/tutors/applications', { method: 'POST', json: body });
      // The username is assigned (choosing one would let anyone test whether an account exists).
      clear(form, h('p.notice', { id: 'apply-done' }, t('apply.done')),
        h('p', {}, t('apply.your_username'), ' ', h('b', { id: 'apply-assigned' }, made.username)),
        h('a.button.primary', { href: '#/sign-in' }, t('apply.sign_in')));
    } catch (err) { clear(result, h('p.error', {}, errorText(err))); }
  } },
  pLabel, password, nLabel, realName, sLabel, school,
  h('label', { for: 'apply-title' }, t('apply.title_label')), title,
  h('fieldset.choices', {}, h('legend', {}, t('apply.subjects')), subjectBoxes),
  h('fieldset.choices', {}, h('legend', {}, t('apply.bands')), bandBoxes),
  h('label', { for: 'apply-fields' }, t('apply.fields')), fields,
  h('label', { for: 'apply-bio' }, t('apply.bio')), bio, result,
  h('div.row', {}, h('button.primary', { type: 'submit', id: 'apply-submit' }, t('apply.submit')), h('a.button', { href: '#/sign-in' }, t('apply.back'))));
  view.append(h('h1', {}, t('apply.heading')), h('p.muted', {}, t('apply.intro')), form);
}
