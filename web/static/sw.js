// Trivium service worker: shows Web Push notifications and relays them to open pages.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (ev) => ev.waitUntil(self.clients.claim()));

self.addEventListener('push', (ev) => {
  let payload = {};
  try {
    payload = ev.data ? ev.data.json() : {};
  } catch {
    payload = { title: 'Trivium', body: ev.data ? ev.data.text() : '' };
  }
  const title = payload.title || 'Trivium';
  ev.waitUntil((async () => {
    await self.registration.showNotification(title, {
      body: payload.body || '',
      tag: payload.topic || 'trivium',
      data: payload,
      icon: '/icon.svg',
    });
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of pages) c.postMessage({ kind: 'push', payload });
  })());
});

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const topic = ev.notification.data && ev.notification.data.topic;
  const target = topic === 'avatar' ? '/profile' : '/';
  ev.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of pages) {
      if ('focus' in c) return c.focus();
    }
    return self.clients.openWindow(target);
  })());
});
