// The first page after a login, and the passkeys page (every change
// lands there): tell the browser's Signal API which passkeys the site
// accepts and the person's names, so that a passkey deleted or disabled
// here leaves their password manager. After a password login, offer a
// passkey quietly (conditional create) unless the person turned that off
// on this device.
'use strict';

// body[data-passkey-offer] says how the offer went: "off" (turned off on
// this device), "pending" (the browser may still make one), "made" or
// "none".
document.addEventListener('DOMContentLoaded', () => {
  PasskeyAPI.SignalCurrentState();
  const body = document.body;
  if (body.dataset.offerPasskey !== 'true') {
    return;
  }
  let off = false;
  try {
    off = localStorage.getItem('passkeyd-offer-passkey') === 'off';
  } catch (e) {
    off = false;
  }
  if (off) {
    body.dataset.passkeyOffer = 'off';
    return;
  }
  body.dataset.passkeyOffer = 'pending';
  PasskeyAPI.OfferPasskey().then((passkey) => {
    body.dataset.passkeyOffer = passkey ? 'made' : 'none';
    if (passkey) {
      PasskeyAPI.SignalCurrentState();
    }
  });
});
