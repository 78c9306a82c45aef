// Profile: display name, avatar upload with progress and live review status, push opt-in.
import { h, add, mount, field, setError, toast, avatar } from '../dom.js';
import { api, session, refreshMe, events } from '../api.js';
import { enablePush, unsubscribePush, pushState } from '../push.js';
import { levelCard } from './level.js';
import { acceptTypes, uploadRule, uploadProblem, isFinal } from '../uploads.js';

const UPLOAD_KEY = 'trivium.avatarUpload';
const STATUS_TEXT = {
  awaiting_upload: 'Waiting for the upload…', uploading: 'Uploading…', processing: 'Processing your image…',
  in_review: 'A moderator is reviewing your image.', accepted: 'Accepted: your new avatar is live.',
  rejected: 'Rejected', failed: 'Processing failed',
};

export function render(root) {
  const p = session.player || {};
  const current = h('div', { class: 'current-avatar' });
  const drawCurrent = (pl) => {
    const a = avatar(pl.avatar && pl.avatar.url ? pl.avatar : '', pl.displayName, 'lg', { alt: 'Your avatar' });
    if (a.tagName === 'IMG') a.id = 'avatar-img';
    mount(current, a);
  };
  drawCurrent(p);

  // Display name.
  const name = field('Display name', h('input', { name: 'displayName', value: p.displayName || '', maxlength: 40, autocomplete: 'nickname' }), { key: 'displayName' });
  const nameBtn = h('button', { type: 'submit', class: 'primary', text: 'Save name' });
  const nameForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'name-h', onsubmit: async (ev) => {
    ev.preventDefault();
    setError(name.error, '');
    nameBtn.disabled = true;
    try {
      const pl = await api('PATCH', 'me', { displayName: name.input.value.trim() });
      session.set(null, pl);
      toast('Saved', `You are now ${pl.displayName}.`);
    } catch (e) {
      setError(name.error, (e.errors && e.errors.displayName) || e.message);
    } finally { nameBtn.disabled = false; }
  } }, h('h2', { id: 'name-h', text: 'Name' }), name.wrap, nameBtn);

  // Avatar.
  const file = h('input', { type: 'file', name: 'avatar', accept: acceptTypes, id: 'avatar-file' });
  const fileErr = h('p', { class: 'field-error', role: 'alert', hidden: true, id: 'avatar-file-err' });
  file.setAttribute('aria-describedby', fileErr.id);
  const preview = h('div', { class: 'preview' });
  const bar = h('progress', { max: 100, value: 0, id: 'upload-progress', 'aria-label': 'Upload progress', hidden: true });
  const statusEl = h('p', { class: 'upload-status', role: 'status', 'aria-live': 'polite', id: 'upload-status' });
  const upBtn = h('button', { type: 'submit', class: 'primary', text: 'Upload', disabled: true });
  let chosen = null;
  let pollTimer = 0;
  let watching = sessionStorage.getItem(UPLOAD_KEY) || '';

  // Status news comes from three sources (the complete call, polling, notifications) in any
  // order: once the outcome is known, a late "processing" must not overwrite it.
  let outcome = '';
  function showStatus(st, reason) {
    if (outcome && !isFinal(st)) return;
    if (isFinal(st)) outcome = st;
    statusEl.dataset.status = st;
    // The reason matters to the player only when the image was turned down.
    statusEl.textContent = (STATUS_TEXT[st] || st) + (reason && (st === 'rejected' || st === 'failed') ? `: ${reason}` : '');
  }

  async function poll(delay = 1500) {
    clearTimeout(pollTimer);
    if (!watching) return;
    try {
      const u = await api('GET', `avatars/uploads/${encodeURIComponent(watching)}`);
      showStatus(u.status, u.reason);
      if (isFinal(u.status)) return settle(u.status);
    } catch (e) {
      if (e.status === 404) { watching = ''; sessionStorage.removeItem(UPLOAD_KEY); return; }
    }
    // Polling is the fallback to the notification frames; it slows down while nothing changes.
    pollTimer = setTimeout(() => poll(Math.min(delay * 1.5, 15000)), delay);
  }

  async function settle(status) {
    clearTimeout(pollTimer);
    watching = '';
    sessionStorage.removeItem(UPLOAD_KEY);
    if (status === 'accepted') {
      mount(preview);
      file.value = '';
      chosen = null;
      try { drawCurrent(await refreshMe()); } catch { /* the status line already says it */ }
    } else {
      upBtn.disabled = !chosen;
    }
  }

  file.addEventListener('change', () => {
    setError(fileErr, '');
    mount(preview);
    chosen = null;
    upBtn.disabled = true;
    const f = file.files && file.files[0];
    if (!f) return;
    const problem = uploadProblem(f);
    if (problem) { setError(fileErr, problem); return; }
    chosen = f;
    upBtn.disabled = false;
    const url = URL.createObjectURL(f);
    const img = h('img', { class: 'avatar avatar-lg', src: url, alt: 'Preview of the new avatar' });
    img.addEventListener('load', () => URL.revokeObjectURL(url));
    mount(preview, img);
  });

  function put(up, f) {
    // XMLHttpRequest, not fetch: only it reports upload progress.
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(up.method || 'PUT', up.url);
      for (const [k, v] of Object.entries(up.headers || {})) {
        // The browser sets these itself and refuses to be told.
        if (!['content-length', 'host'].includes(k.toLowerCase())) x.setRequestHeader(k, v);
      }
      x.upload.addEventListener('progress', (ev) => {
        if (ev.lengthComputable) bar.value = Math.round((ev.loaded / ev.total) * 100);
      });
      x.addEventListener('load', () => (x.status >= 200 && x.status < 300 ? resolve() : reject(new Error(`The upload was refused (HTTP ${x.status}).`))));
      x.addEventListener('error', () => reject(new Error('The upload failed: network error.')));
      x.send(f);
    });
  }

  const avForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'av-h', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!chosen) return;
    upBtn.disabled = true;
    setError(fileErr, '');
    try {
      const up = await api('POST', 'avatars/uploads', { contentType: chosen.type, contentLength: chosen.size });
      watching = up.uploadId;
      outcome = '';
      sessionStorage.setItem(UPLOAD_KEY, watching);
      bar.hidden = false;
      bar.value = 0;
      showStatus('uploading');
      await put(up, chosen);
      bar.value = 100;
      showStatus('processing');
      // Stores that cannot announce the upload themselves (S3) learn of it from this call; for
      // the others it just answers the current status.
      try {
        const st = await api('POST', `avatars/uploads/${encodeURIComponent(up.uploadId)}/complete`);
        if (st && st.status) showStatus(st.status, st.reason);
      } catch { /* polling below still follows the upload */ }
      poll();
    } catch (e) {
      setError(fileErr, (e.errors && (e.errors.contentType || e.errors.contentLength)) || e.message);
      upBtn.disabled = false;
    }
  } }, h('h2', { id: 'av-h', text: 'Avatar' }), current,
  h('div', { class: 'field' }, h('label', { for: 'avatar-file', text: `Choose an image (${uploadRule})` }), file, fileErr),
  preview, bar, statusEl, upBtn);

  // Push.
  const pushStatus = h('p', { class: 'muted', role: 'status', id: 'push-status' });
  const pushBtn = h('button', { type: 'button', class: 'primary', text: 'Notify me', id: 'push-on' });
  const pushOff = h('button', { type: 'button', text: 'Stop notifications', id: 'push-off', hidden: true });
  async function drawPush() {
    const st = await pushState().catch(() => 'unsupported');
    pushStatus.textContent = { unsupported: 'This browser cannot receive push notifications.', denied: 'Notifications are blocked for this site in the browser settings.',
      on: 'This browser will be notified, even when Trivium is closed.', off: 'Get a notification when your avatar is reviewed.' }[st];
    pushBtn.hidden = st === 'on' || st === 'unsupported' || st === 'denied';
    pushOff.hidden = st !== 'on';
  }
  pushBtn.addEventListener('click', async () => {
    pushBtn.disabled = true;
    pushStatus.textContent = 'Asking your browser…';
    let failed = '';
    try { await enablePush(); toast('Notifications on'); } catch (e) { failed = e.message; toast('Notifications not enabled', e.message, 'error'); }
    pushBtn.disabled = false;
    await drawPush();
    if (failed) pushStatus.textContent = failed;
  });
  pushOff.addEventListener('click', async () => {
    try { await unsubscribePush(); } catch (e) { toast('Could not unsubscribe', e.message, 'error'); }
    drawPush();
  });
  drawPush();

  const onNote = (ev) => {
    const n = ev.detail || {};
    if (n.topic !== 'avatar' || !n.data) return;
    if (watching && n.data.uploadId && n.data.uploadId !== watching) return;
    showStatus(n.data.status, n.data.reason);
    if (isFinal(n.data.status)) settle(n.data.status);
  };
  events.addEventListener('notification', onNote);
  const onAuth = (ev) => { if (ev.detail) drawCurrent(ev.detail); };
  events.addEventListener('auth', onAuth);

  add(root, h('h1', { text: 'Your profile' }),
    h('p', { class: 'muted', text: `Signed in as ${p.username}${p.role && p.role !== 'player' ? ` (${p.role})` : ''}` }),
    levelCard(),
    h('div', { class: 'grid2' }, nameForm, avForm),
    h('section', { class: 'card', 'aria-labelledby': 'push-h' }, h('h2', { id: 'push-h', text: 'Notifications' }), pushStatus, h('div', { class: 'row' }, pushBtn, pushOff)));
  if (watching) { showStatus('processing'); poll(0); }
  refreshMe().then(drawCurrent).catch(() => {});
  return () => {
    clearTimeout(pollTimer);
    events.removeEventListener('notification', onNote);
    events.removeEventListener('auth', onAuth);
  };
}
