/*
 * The service worker of the public pages (/p/...): shows a warning pushed by the control center.
 * The payload is the JSON of push-channel.ts (title, body, url, tag, level, exercise). One
 * notification per area (the tag): a newer message replaces the older one on the phone. Warnings at
 * 경계 and 심각 stay on screen until the resident dismisses them.
 */
self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const title = typeof data.title === 'string' && data.title ? data.title : '급경사지 경보 · Slope warning';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : '',
      tag: typeof data.tag === 'string' ? data.tag : 'slopeguard',
      renotify: true,
      requireInteraction: Number(data.level) >= 3,
      lang: 'ko',
      data: { url: typeof data.url === 'string' ? data.url : undefined },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data?.url;
  if (url && new URL(url, self.location.href).origin === self.location.origin) {
    event.waitUntil(self.clients.openWindow(url));
  }
});
