// The first page after a login, and the passkeys page (every change
// lands there): tell the browser's Signal API which passkeys the site
// accepts and the person's names, so that a passkey deleted or disabled
// here leaves their password manager. After a password login, offer a
// passkey quietly (conditional create) unless the person turned that off
// on this device.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  PasskeyAPI.SignalCurrentState();
  let off = false;
  try {
    off = localStorage.getItem('passkeyd-offer-passkey') === 'off';
  } catch (e) {
    off = false;
  }
  if (document.body.dataset.offerPasskey === 'true' && !off) {
    PasskeyAPI.OfferPasskey().then((passkey) => {
      if (passkey) {
        PasskeyAPI.SignalCurrentState();
      }
    });
  }
});
