// The passkey page: the register modal and the delete confirmation.
'use strict';

(function () {
  const showResult = (ok, message) => {
    const result = document.querySelector('#registration-result');
    result.replaceChildren();
    const node = document.createElement('div');
    node.classList.add('alert', ok ? 'alert-success' : 'alert-danger');
    node.setAttribute('role', ok ? 'status' : 'alert');
    node.textContent = message;
    result.appendChild(node);
  };

  document.addEventListener('DOMContentLoaded', () => {
    PasskeyAPI.Init();

    const button = document.querySelector('#register-passkey');
    const modal = document.querySelector('#register-passkey-modal');
    modal.addEventListener('show.bs.modal', () => {
      document.querySelector('#registration-result').replaceChildren();
      button.disabled = false;
    });
    modal.addEventListener('shown.bs.modal', () => document.querySelector('#key-name').focus());
    button.addEventListener('click', () => {
      button.disabled = true;
      PasskeyAPI.RegisterPasskey(document.querySelector('#key-name').value, (ok, message) => {
        showResult(ok, message);
        if (ok) {
          // Show the new passkey in the list once the person has read the
          // outcome and closes the dialog.
          modal.addEventListener('hidden.bs.modal', () => window.location.reload(), { once: true });
        } else {
          button.disabled = false;
        }
      });
    });

    // The quiet passkey offer after a password login is this device's
    // choice, kept in its storage.
    const offer = document.querySelector('#offer-passkey-toggle');
    try {
      offer.checked = localStorage.getItem('passkeyd-offer-passkey') !== 'off';
      offer.addEventListener('change', () => localStorage.setItem('passkeyd-offer-passkey', offer.checked ? 'on' : 'off'));
    } catch (e) {
      offer.disabled = true;
    }

    const deleteModal = document.querySelector('#delete-passkey-modal');
    deleteModal.addEventListener('show.bs.modal', (event) => {
      const trigger = event.relatedTarget;
      if (!trigger) {
        return;
      }
      document.querySelector('#target-name').textContent = trigger.dataset.passkeyName;
      document.querySelector('#delete-passkey-form').action = '/passkeys/' + encodeURIComponent(trigger.dataset.passkeyId) + '/delete';
    });
  });
})();
