// The login page: passkey autofill on load, the "Log in with a passkey"
// button, and every failure shown in #login-error.
'use strict';

(function () {
  const showError = (message) => {
    const box = document.querySelector('#login-error');
    box.textContent = message;
    box.classList.toggle('alert', Boolean(message));
    box.classList.toggle('alert-danger', Boolean(message));
  };

  const submitAssertion = (assertion) => {
    document.querySelector('#passkey').value = JSON.stringify(assertion);
    // The password must not decide which login this is.
    document.querySelector('#password').value = '';
    document.querySelector('#login-form').submit();
  };

  const onResult = (ok, result) => {
    if (ok) {
      submitAssertion(result);
      return;
    }
    // A request that we stopped ourselves (the button replacing autofill)
    // is no failure; neither is a browser without autofill.
    if (result.code === 'aborted' || result.code === 'unsupported' && !result.explicit) {
      return;
    }
    showError(result.message);
  };

  document.addEventListener('DOMContentLoaded', () => {
    PasskeyAPI.Init();
    // The site did not know the passkey just used (deleted here): tell
    // the browser, so that it leaves the password manager.
    const unknown = document.querySelector('#login-error[data-unknown-credential]');
    if (unknown) {
      PasskeyAPI.SignalUnknownCredential(unknown.dataset.rpId, unknown.dataset.unknownCredential);
    }
    PasskeyAPI.CheckConditionalUI((available) => {
      if (available) {
        PasskeyAPI.Authentication((ok, result) => {
          // Autofill runs in the background: when the browser ends it
          // without a passkey (none on this device, or dismissed), the
          // person asked for nothing, so there is nothing to tell them.
          if (!ok && result.code === 'cancelled') {
            return;
          }
          onResult(ok, result);
        }, { conditional: true });
      }
    });
    const keyButton = document.querySelector('#security-key-login');
    keyButton.addEventListener('click', () => {
      const username = document.querySelector('#username').value.trim();
      if (!username) {
        showError(PasskeyAPI.t('Enter your username first, then use your security key.'));
        document.querySelector('#username').focus();
        return;
      }
      showError('');
      PasskeyAPI.Authentication((ok, result) => {
        if (!ok && result.code === 'unsupported') {
          result.explicit = true;
        }
        onResult(ok, result);
      }, { username: username });
    });
    document.querySelector('#passkey-login').addEventListener('click', () => {
      showError('');
      PasskeyAPI.Authentication((ok, result) => {
        if (!ok && result.code === 'unsupported') {
          result.explicit = true;
        }
        onResult(ok, result);
      });
    });
  });
})();
