// Web Push opt-in. Permission is asked only from the "Notify me" click (enablePush), never on load.
import { api } from './api.js';

const KEY_STORE = 'trivium.push.key';
// subscribe() waits for the browser's push service, which may never answer (no network to it,
// a browser without one): give up after this long with a message instead of hanging.
export const SUBSCRIBE_TIMEOUT_MS = 10000;

function withTimeout(p, ms, message) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); })])
    .finally(() => clearTimeout(timer));
}

function b64urlToBytes(s) {
  const pad = '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Whether this browser can do Web Push at all. */
export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** 'unsupported' | 'denied' | 'on' | 'off' */
export async function pushState() {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg && (await reg.pushManager.getSubscription());
  return sub && Notification.permission === 'granted' ? 'on' : 'off';
}

/**
 * Asks permission and subscribes; re-subscribes when the server's VAPID key changed since the
 * last subscription (an old subscription would be refused by the push service).
 */
export async function enablePush() {
  if (!pushSupported()) throw new Error('This browser does not support push notifications.');
  const perm = await Notification.requestPermission();
  if (perm !== 'granted') throw new Error('Notifications are blocked for this site.');
  const { publicKey } = await api('GET', 'push/vapid-public-key');
  const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  if (sub && localStorage.getItem(KEY_STORE) !== publicKey) {
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) {
    sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(publicKey) }),
      SUBSCRIBE_TIMEOUT_MS, 'The browser’s push service did not answer. Notifications cannot be turned on right now; try again later or in another browser.');
  }
  localStorage.setItem(KEY_STORE, publicKey);
  await api('POST', 'push/subscriptions', sub.toJSON());
  return sub;
}

/** Unsubscribes this browser and tells the server (sign-out, or "stop notifying me"). */
export async function unsubscribePush() {
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg && (await reg.pushManager.getSubscription());
  if (!sub) return;
  const endpoint = sub.endpoint;
  await sub.unsubscribe();
  localStorage.removeItem(KEY_STORE);
  await api('DELETE', 'push/subscriptions', { endpoint });
}
