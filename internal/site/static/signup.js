// The sign-up page: a passkey sign-up through the JSON API.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  PasskeyAPI.Init();
  const button = document.querySelector('#signup-passkey');
  if (!button) {
    return;
  }
  const errorBox = document.querySelector('#signup-error');
  button.addEventListener('click', () => {
    errorBox.textContent = '';
    errorBox.className = '';
    button.disabled = true;
    const form = document.querySelector('#signup-form');
    PasskeyAPI.SignUp(form.elements.username.value, form.elements.display_name.value).then(() => {
      location.assign('/passkeys');
    }, (err) => {
      errorBox.className = 'alert alert-danger';
      errorBox.textContent = err.message;
      button.disabled = false;
    });
  });
});
