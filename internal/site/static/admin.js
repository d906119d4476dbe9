// The admin's buttons and forms: each calls the admin JSON API through
// PasskeyAPI.Call (which asks to confirm it is you when a change needs a
// recent login, then carries on), and shows the outcome. A button's
// data-method, data-path and data-body (JSON) say the call; a form's
// fields are its body.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const result = document.querySelector('#admin-result');
  const show = (ok, message, link) => {
    const box = document.createElement('div');
    box.className = 'alert ' + (ok ? 'alert-success' : 'alert-danger');
    box.setAttribute('role', ok ? 'status' : 'alert');
    box.textContent = message;
    if (link) {
      const code = document.createElement('code');
      code.id = 'admin-login-url';
      code.className = 'd-block mt-2 text-break';
      code.textContent = link;
      box.appendChild(code);
    }
    result.replaceChildren(box);
  };
  // done shows what a call did: a new login link, a message, or the page
  // again (or the new user's page) with the change.
  const done = (el, data) => {
    if (el.dataset.showLink !== undefined) {
      show(true, PasskeyAPI.t('A one-time login link, valid for 15 minutes. Hand it to the user in person:'), location.origin + data.path);
    } else if (el.dataset.success) {
      show(true, el.dataset.success);
      if (el.tagName === 'FORM') {
        el.reset();
      }
    } else if (el.dataset.go && data.user) {
      location.assign(el.dataset.go + data.user.id);
    } else {
      location.reload();
    }
  };
  for (const button of document.querySelectorAll('button[data-admin-call]')) {
    button.addEventListener('click', () => {
      button.disabled = true;
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      PasskeyAPI.Call(button.dataset.method, button.dataset.path, body).then((data) => {
        button.disabled = false;
        done(button, data);
      }, (err) => {
        button.disabled = false;
        show(false, err.message);
      });
    });
  }
  for (const form of document.querySelectorAll('form[data-admin-form]')) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = {};
      for (const field of form.elements) {
        if (field.name && field.type === 'checkbox') {
          body[field.name] = field.checked;
        } else if (field.name && field.value !== '') {
          body[field.name] = field.value;
        }
      }
      PasskeyAPI.Call(form.dataset.method, form.dataset.path, body).then((data) => done(form, data), (err) => show(false, err.message));
    });
  }
});
