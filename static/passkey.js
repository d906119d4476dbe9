// passkey.js — the browser side of passkeyd: the article's PasskeyAPI on
// top of passkeyd's JSON API. It uses the browser's own WebAuthn JSON
// helpers where they exist and a base64url fallback where they do not, and
// reports every outcome to the caller's callback in words a person can read.
'use strict';

const PasskeyAPI = {};

(function () {
  let apiBase = '/api';
  let conditionalAvailable = false;
  let conditionalController = null;
  let reauthHandler = null;
  // lastRpId is the RP id of the last login's options: the Signal API
  // names it when a finish says the passkey is unknown.
  let lastRpId = null;

  // ---- base64url (RFC 4648 §5, no padding), any input length ----
  const base64url = {
    encode(buffer) {
      const bytes = new Uint8Array(buffer);
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      }
      return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    },
    decode(text) {
      if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
        throw new TypeError('not base64url');
      }
      let b64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
      if (b64.length % 4 === 1) {
        throw new TypeError('not base64url: impossible length');
      }
      b64 += '='.repeat((4 - (b64.length % 4)) % 4);
      const binary = atob(b64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) {
        bytes[i] = binary.charCodeAt(i);
      }
      return bytes.buffer;
    },
  };

  const supported = () => typeof window.PublicKeyCredential === 'function' &&
    navigator.credentials && typeof navigator.credentials.create === 'function';

  // ---- options: JSON → what navigator.credentials wants ----
  const decodeDescriptors = (list) => (list || []).map((c) => Object.assign({}, c, { id: base64url.decode(c.id) }));

  const creationOptions = (json) => {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    const o = Object.assign({}, json);
    o.challenge = base64url.decode(json.challenge);
    o.user = Object.assign({}, json.user, { id: base64url.decode(json.user.id) });
    o.excludeCredentials = decodeDescriptors(json.excludeCredentials);
    return o;
  };

  const requestOptions = (json) => {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    const o = Object.assign({}, json);
    o.challenge = base64url.decode(json.challenge);
    o.allowCredentials = decodeDescriptors(json.allowCredentials);
    return o;
  };

  // ---- credentials → RegistrationResponseJSON / AuthenticationResponseJSON ----
  const credentialJSON = (cred) => {
    if (typeof cred.toJSON === 'function') {
      return cred.toJSON();
    }
    const r = cred.response;
    const response = { clientDataJSON: base64url.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = base64url.encode(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
      if (typeof r.getAuthenticatorData === 'function') {
        response.authenticatorData = base64url.encode(r.getAuthenticatorData());
      }
      const key = typeof r.getPublicKey === 'function' ? r.getPublicKey() : null;
      if (key) {
        response.publicKey = base64url.encode(key);
      }
      if (typeof r.getPublicKeyAlgorithm === 'function') {
        response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
      }
    } else {
      response.authenticatorData = base64url.encode(r.authenticatorData);
      response.signature = base64url.encode(r.signature);
      if (r.userHandle) {
        response.userHandle = base64url.encode(r.userHandle);
      }
    }
    return {
      id: cred.id,
      rawId: base64url.encode(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {},
      response: response,
    };
  };

  // ---- words in the page's language ----
  // t says an English text in the page's language, from the translations
  // the page carries (<meta name="passkeyd-messages">, English to
  // translation; none: English), and fills in its {{.Field}}s from data.
  let messages = null;
  const t = (english, data) => {
    if (messages === null) {
      messages = {};
      const meta = document.querySelector('meta[name="passkeyd-messages"]');
      try {
        messages = (meta && JSON.parse(meta.content)) || {};
      } catch (e) {
        messages = {};
      }
    }
    const text = Object.prototype.hasOwnProperty.call(messages, english) ? messages[english] : english;
    return text.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (m, field) => (data && field in data ? String(data[field]) : m));
  };
  PasskeyAPI.t = t;

  // ---- errors in words ----
  // A PasskeyError carries a machine code and a message for people.
  class PasskeyError extends Error {
    constructor(code, message) {
      super(message);
      this.name = 'PasskeyError';
      this.code = code;
    }
  }

  const describe = (err, registering) => {
    if (err instanceof PasskeyError) {
      return err;
    }
    switch (err && err.name) {
      case 'NotAllowedError':
        return new PasskeyError('cancelled', registering
          ? t('The passkey was not created: the request was cancelled or timed out.')
          : t('No passkey was used: the request was cancelled, timed out, or no passkey for this site is on this device.'));
      case 'AbortError':
        return new PasskeyError('aborted', t('The passkey request was stopped.'));
      case 'InvalidStateError':
        return new PasskeyError('exists', t('This device already holds a passkey for your account.'));
      case 'SecurityError':
        return new PasskeyError('insecure', t('Passkeys cannot be used on this address. Open the site at its proper https address.'));
      case 'ConstraintError':
        return new PasskeyError('no_verification', t('This site needs your device to verify it is you (a PIN, fingerprint or face), and this device cannot.'));
      case 'NotReadableError':
      case 'UnknownError':
        return new PasskeyError('authenticator', t('The authenticator could not be used. Try again, or use another passkey.'));
      case 'NotSupportedError':
        return new PasskeyError('unsupported', t('This device has no authenticator that supports the passkey settings of this site.'));
      case 'TypeError':
        return new PasskeyError('network', t('The server could not be reached, or it sent something unexpected. Check your connection and try again.'));
      default:
        return new PasskeyError('error', t('Something went wrong with the passkey.'));
    }
  };

  // callJSON sends a request to the JSON API: a body, when given, as
  // JSON. It resolves to the answer ({} for none) or rejects with a
  // PasskeyError carrying the API's error code and message.
  const callJSON = (method, path, body) => {
    const init = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(apiBase + path, init).then((response) => response.json().catch(() => ({})).then((data) => {
      if (!response.ok) {
        throw new PasskeyError(data.error || 'server', data.message || t('The server refused the request ({{.Status}}).', { Status: response.status }));
      }
      return data;
    }));
  };
  const postJSON = (path, body) => callJSON('POST', path, body || {});
  const getJSON = (path) => callJSON('GET', path);

  // ---- the Signal API (WebAuthn Level 3), where the browser has it ----
  // signal calls PublicKeyCredential[name](arg) and resolves to whether
  // the browser took it; a browser without it, or one that refuses,
  // changes nothing for the person.
  const signal = (name, arg) => {
    if (typeof window.PublicKeyCredential !== 'function' || typeof PublicKeyCredential[name] !== 'function') {
      return Promise.resolve(false);
    }
    return Promise.resolve().then(() => PublicKeyCredential[name](arg)).then(() => true, () => false);
  };

  // withReauth runs request; when the server asks for a recent login
  // (reauth_required) it asks the page's handler (OnReauthRequired) to
  // have the person confirm, then runs request once more.
  const withReauth = (request) => request().catch((err) => {
    if (err && err.code === 'reauth_required' && reauthHandler) {
      return Promise.resolve(reauthHandler(err)).then(request);
    }
    throw err;
  });

  // ---- the API ----

  // Call sends method path (under the API's base) with body as JSON, and
  // resolves to the answer ({} for none) or rejects with a PasskeyError.
  // A change that needs a recent login first asks the person
  // (OnReauthRequired), then is sent again.
  PasskeyAPI.Call = (method, path, body) => withReauth(() => callJSON(method, path, body));

  // Init sets where the JSON API lives (default "/api") and resets state.
  PasskeyAPI.Init = (options) => {
    apiBase = (options && options.apiBase) || '/api';
    conditionalAvailable = false;
    PasskeyAPI.CancelConditionalUI();
  };

  // CheckConditionalUI calls back (true) when the browser can offer
  // passkeys in the username field's autofill (conditional UI).
  PasskeyAPI.CheckConditionalUI = (callback) => {
    if (!supported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') {
      callback(false, new PasskeyError('unsupported', t('This browser cannot offer passkeys in autofill.')));
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      conditionalAvailable = available;
      callback(available, available ? null : new PasskeyError('unsupported', t('This browser cannot offer passkeys in autofill.')));
    }).catch((err) => callback(false, describe(err, false)));
  };

  // CheckPasskeys calls back (true) when this device has a platform
  // authenticator that verifies the user (Touch ID, Windows Hello, …).
  PasskeyAPI.CheckPasskeys = (callback) => {
    if (!supported() || typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable !== 'function') {
      callback(false, new PasskeyError('unsupported', t('This browser does not support passkeys.')));
      return;
    }
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then((available) => {
      callback(available, available ? null : new PasskeyError('unsupported', t('This device has no built-in passkey support; a phone or security key may still work.')));
    }).catch((err) => callback(false, describe(err, false)));
  };

  // CancelConditionalUI stops a pending autofill request, so that a modal
  // request can take its place.
  PasskeyAPI.CancelConditionalUI = () => {
    if (conditionalController) {
      conditionalController.abort();
      conditionalController = null;
    }
  };

  // RegisterPasskey creates a passkey named keyName for the logged-in user
  // and calls back (true, message, passkey) or (false, message, error).
  PasskeyAPI.RegisterPasskey = (keyName, callback) => {
    if (!supported()) {
      callback(false, t('This browser does not support passkeys.'), new PasskeyError('unsupported', t('This browser does not support passkeys.')));
      return;
    }
    PasskeyAPI.CancelConditionalUI();
    withReauth(() => postJSON('/passkeys/register/begin')).then((data) => {
      return navigator.credentials.create({ publicKey: creationOptions(data.publicKey) });
    }).then((credential) => {
      const body = credentialJSON(credential);
      body.name = keyName || '';
      return postJSON('/passkeys/register/finish', body);
    }).then((data) => {
      callback(true, t('Passkey “{{.Name}}” created.', { Name: data.passkey.name }), data.passkey);
    }).catch((err) => {
      const e = describe(err, true);
      callback(false, e.message, e);
    });
  };

  // Authentication asks for a passkey and calls back (true,
  // AuthenticationResponseJSON) for the caller to send to the server (the
  // login form's hidden field, or /api/login/finish), or (false, error)
  // with error.code and error.message. With {conditional: true} the
  // request waits in the username field's autofill; otherwise any pending
  // autofill request is cancelled first and the browser asks at once.
  // With {username: name} the server lists that user's passkeys, so that a
  // security key that keeps no credential of its own can answer.
  PasskeyAPI.Authentication = (callback, options) => {
    const conditional = Boolean(options && options.conditional);
    if (!supported()) {
      callback(false, new PasskeyError('unsupported', t('This browser does not support passkeys.')));
      return;
    }
    if (conditional && !conditionalAvailable) {
      callback(false, new PasskeyError('unsupported', t('This browser cannot offer passkeys in autofill.')));
      return;
    }
    PasskeyAPI.CancelConditionalUI();
    let controller = null;
    if (conditional) {
      controller = new AbortController();
      conditionalController = controller;
    }
    const username = options && options.username;
    postJSON('/login/begin', username ? { username: username } : undefined).then((data) => {
      lastRpId = data.publicKey.rpId || location.hostname;
      const request = { publicKey: requestOptions(data.publicKey) };
      if (controller) {
        if (controller.signal.aborted) {
          throw new PasskeyError('aborted', t('The passkey request was stopped.'));
        }
        request.mediation = 'conditional';
        request.signal = controller.signal;
      }
      return navigator.credentials.get(request);
    }).then((assertion) => {
      if (controller === conditionalController) {
        conditionalController = null;
      }
      if (!assertion) {
        throw new PasskeyError('cancelled', t('No passkey was used.'));
      }
      callback(true, credentialJSON(assertion));
    }).catch((err) => {
      const e = describe(err, false);
      if (controller && controller.signal.aborted) {
        e.code = 'aborted';
      }
      callback(false, e);
    });
  };

  // ---- a login that finishes by itself ----

  // safeNext returns next when it is a path on this site ("/passkeys"),
  // else null: a link must not send someone elsewhere after they log in.
  const safeNext = (next) => {
    if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
      return null;
    }
    try {
      return new URL(next, location.origin).origin === location.origin ? next : null;
    } catch (e) {
      return null;
    }
  };

  // FinishLogin sends an AuthenticationResponseJSON to /api/login/finish
  // and resolves to {user, auth}; the session cookie is then set.
  // A passkey the site does not know (deleted here) is signalled to the
  // browser (signalUnknownCredential), so that it leaves the person's
  // password manager and is not offered again.
  PasskeyAPI.FinishLogin = (assertion) => postJSON('/login/finish', assertion).catch((err) => {
    if (err.code === 'unknown_passkey' && assertion && assertion.id) {
      return PasskeyAPI.SignalUnknownCredential(lastRpId || location.hostname, assertion.id).then(() => { throw err; });
    }
    throw err;
  });

  // SignalUnknownCredential tells the browser that the site does not know
  // the credential (a base64url id) of rpId, where it has the Signal API.
  PasskeyAPI.SignalUnknownCredential = (rpId, credentialId) => signal('signalUnknownCredential', { rpId: rpId, credentialId: credentialId });

  // SignalCurrentState tells the browser, where it has the Signal API,
  // which of the logged-in person's passkeys the site accepts
  // (signalAllAcceptedCredentials: a deleted or disabled one leaves their
  // password manager) and their current names (signalCurrentUserDetails).
  // Call it after a login and after every change of the passkeys. It
  // never fails.
  PasskeyAPI.SignalCurrentState = () => {
    if (typeof window.PublicKeyCredential !== 'function' ||
      (typeof PublicKeyCredential.signalAllAcceptedCredentials !== 'function' && typeof PublicKeyCredential.signalCurrentUserDetails !== 'function')) {
      return Promise.resolve();
    }
    return getJSON('/signals').then((info) => Promise.all([
      signal('signalAllAcceptedCredentials', { rpId: info.rp_id, userId: info.user_id, allAcceptedCredentialIds: info.accepted_credential_ids }),
      signal('signalCurrentUserDetails', { rpId: info.rp_id, userId: info.user_id, name: info.name, displayName: info.display_name }),
    ])).then(() => undefined, () => undefined);
  };

  // Login wires a login page, and finishes a passkey login by itself:
  //
  //   PasskeyAPI.Login({
  //     autofill: true,            // offer passkeys in the username field's autofill on load
  //     button: '#passkey-login',  // a click asks for a passkey at once
  //     redirect: '/',             // where to go after logging in; the page's same-site ?next= wins
  //     onLogin: (user, auth) => {},  // instead of redirecting
  //     onError: (error) => {},       // error.code, error.message; default: shown in errorElement
  //     errorElement: '#login-error',
  //   });
  //
  // Autofill needs the username field to say so: <input name="username"
  // autocomplete="username webauthn">. Without "webauthn" in autocomplete
  // the browser offers no passkeys there (and Login says so in the
  // console). A click on the button first cancels the pending autofill
  // request, then asks with a normal prompt.
  PasskeyAPI.Login = (options) => {
    const o = Object.assign({ autofill: true, button: '#passkey-login', redirect: '/', errorElement: '#login-error' }, options || {});
    const errorBox = o.errorElement ? document.querySelector(o.errorElement) : null;
    const showError = o.onError || ((error) => {
      if (errorBox) {
        errorBox.textContent = error ? error.message : '';
      }
    });
    const done = (data) => {
      if (o.onLogin) {
        o.onLogin(data.user, data.auth);
        return;
      }
      const next = safeNext(new URLSearchParams(location.search).get('next'));
      PasskeyAPI.SignalCurrentState().then(() => location.assign(next || safeNext(o.redirect) || '/'));
    };
    const finish = (explicit) => (ok, result) => {
      if (ok) {
        PasskeyAPI.FinishLogin(result).then(done).catch((err) => showError(describe(err, false)));
        return;
      }
      // A request we stopped (the button replacing autofill) is no
      // failure; nor is autofill ending with no passkey chosen, or a
      // browser without autofill, since nobody asked for anything.
      if (result.code === 'aborted' || (!explicit && (result.code === 'cancelled' || result.code === 'unsupported'))) {
        return;
      }
      showError(result);
    };
    if (o.autofill) {
      if (!document.querySelector('input[autocomplete~="webauthn"]')) {
        console.warn('passkeyd: autofill needs an input with autocomplete="username webauthn"; none is on this page.');
      }
      PasskeyAPI.CheckConditionalUI((available) => {
        if (available) {
          PasskeyAPI.Authentication(finish(false), { conditional: true });
        }
      });
    }
    const button = o.button ? document.querySelector(o.button) : null;
    if (button) {
      button.addEventListener('click', (event) => {
        event.preventDefault();
        showError(null);
        PasskeyAPI.Authentication(finish(true));
      });
    }
  };

  // SignUp makes an account with a passkey: the new user's first passkey
  // is created and the user logged in. It resolves to {user, passkey} or
  // rejects with a PasskeyError (username_taken, signup_closed, …).
  PasskeyAPI.SignUp = (username, displayName) => {
    if (!supported()) {
      return Promise.reject(new PasskeyError('unsupported', t('This browser does not support passkeys.')));
    }
    PasskeyAPI.CancelConditionalUI();
    return postJSON('/signup/begin', { username: username, display_name: displayName || '' })
      .then((data) => navigator.credentials.create({ publicKey: creationOptions(data.publicKey) }))
      .then((credential) => postJSON('/signup/finish', credentialJSON(credential)))
      .catch((err) => { throw describe(err, true); });
  };

  // OfferPasskey makes the logged-in person a passkey without asking
  // ("automatic passkey upgrade"), right after a password login, where the
  // browser can: conditional create (navigator.credentials.create with
  // mediation "conditional"), which the password manager that filled the
  // password in completes quietly, or not at all. It resolves to the new
  // passkey, or to null when nothing was made; it never fails.
  PasskeyAPI.OfferPasskey = () => {
    if (!supported() || typeof PublicKeyCredential.getClientCapabilities !== 'function') {
      return Promise.resolve(null);
    }
    return PublicKeyCredential.getClientCapabilities().then((caps) => {
      if (!caps || !caps.conditionalCreate) {
        return null;
      }
      return postJSON('/passkeys/register/begin', { conditional: true })
        .then((data) => navigator.credentials.create({ publicKey: creationOptions(data.publicKey), mediation: 'conditional' }))
        .then((credential) => postJSON('/passkeys/register/finish', credentialJSON(credential)))
        .then((data) => data.passkey);
    }).catch(() => null);
  };

  // OnReauthRequired sets what happens when a sensitive change needs a
  // recent login: handler(error) returns a promise that resolves once the
  // person has confirmed (PasskeyAPI.Reauthenticate), and the change is
  // then sent again; a rejection ends it with that error.
  PasskeyAPI.OnReauthRequired = (handler) => {
    reauthHandler = handler;
  };

  // Reauthenticate confirms the logged-in person: with {password} by
  // their password, else with one of their passkeys. It resolves to
  // {user, auth} (the session is renewed) or rejects with a PasskeyError.
  PasskeyAPI.Reauthenticate = (options) => {
    PasskeyAPI.CancelConditionalUI();
    let done;
    if (options && typeof options.password === 'string') {
      done = postJSON('/reauth/password', { password: options.password });
    } else if (!supported()) {
      done = Promise.reject(new PasskeyError('unsupported', t('This browser does not support passkeys.')));
    } else {
      done = postJSON('/reauth/begin')
        .then((data) => navigator.credentials.get({ publicKey: requestOptions(data.publicKey) }))
        .then((assertion) => postJSON('/reauth/finish', credentialJSON(assertion)));
    }
    return done.catch((err) => { throw describe(err, false); });
  };

  // LogOut ends the session (POST /api/logout) and resolves when it has.
  PasskeyAPI.LogOut = () => postJSON('/logout');

  PasskeyAPI.base64url = base64url;
  PasskeyAPI.PasskeyError = PasskeyError;
  Object.freeze(PasskeyAPI);
})();
