// Step-up: when a change needs a recent login, #reauth-dialog asks the
// person to confirm with a passkey or their password, and the change then
// goes on — a JSON request is sent again, a form post is made again.
'use strict';

(function () {
  document.addEventListener('DOMContentLoaded', () => {
    const dialog = document.querySelector('#reauth-dialog');
    if (!dialog) {
      return;
    }
    const errorBox = dialog.querySelector('#reauth-error');
    const passwordForm = dialog.querySelector('#reauth-password-form');
    let pending = null;

    const confirmed = () => {
      const p = pending;
      pending = null;
      dialog.close();
      p.resolve();
    };
    const failed = (err) => {
      errorBox.textContent = err.message;
    };
    // ask opens the dialog; it resolves once the person has confirmed and
    // rejects when they close it without.
    const ask = () => new Promise((resolve, reject) => {
      pending = { resolve, reject };
      errorBox.textContent = '';
      passwordForm.reset();
      dialog.showModal();
    });
    dialog.addEventListener('close', () => {
      if (pending) {
        const p = pending;
        pending = null;
        p.reject(new PasskeyAPI.PasskeyError('cancelled', PasskeyAPI.t('The change was not made: you did not confirm it was you.')));
      }
    });
    dialog.querySelector('#reauth-passkey').addEventListener('click', () => {
      errorBox.textContent = '';
      PasskeyAPI.Reauthenticate().then(confirmed, failed);
    });
    passwordForm.addEventListener('submit', (event) => {
      event.preventDefault();
      errorBox.textContent = '';
      PasskeyAPI.Reauthenticate({ password: passwordForm.elements['reauth-password'].value }).then(confirmed, failed);
    });
    dialog.querySelector('#reauth-cancel').addEventListener('click', () => dialog.close());

    PasskeyAPI.OnReauthRequired(ask);

    // A form post the server refused for want of a recent login: confirm,
    // then post it again (a form with fields the person sends again).
    const retry = document.querySelector('#reauth-retry');
    if (retry) {
      ask().then(() => {
        if (!retry.dataset.action) {
          return;
        }
        const form = document.createElement('form');
        form.method = 'post';
        form.action = retry.dataset.action;
        document.body.appendChild(form);
        form.submit();
      }, () => {});
    }
  });
})();
