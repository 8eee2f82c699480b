/*
 * Offers web push on an area's public page. The page works without this script; the button stays
 * hidden where the browser cannot do push. Subscribing asks for permission, registers the service
 * worker, subscribes with the control center's VAPID key and posts the subscription for the area;
 * unsubscribing deletes it on both sides. Nothing here is sent anywhere but the control center.
 */
(() => {
  const button = document.getElementById('push');
  if (!button || !('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window))
    return;
  const { area, key, sw, action } = button.dataset;
  const labels = { on: button.textContent, off: button.dataset.off, failed: button.dataset.failed };
  const bytes = (b64url) => {
    const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  const post = (body) =>
    fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  let registration;
  const show = async () => {
    registration = await navigator.serviceWorker.register(sw);
    const sub = await registration.pushManager.getSubscription();
    button.textContent = sub ? labels.off : labels.on;
    button.hidden = false;
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const existing = await registration.pushManager.getSubscription();
      if (existing) {
        await post({ area, unsubscribe: existing.endpoint });
        await existing.unsubscribe();
        button.textContent = labels.on;
        return;
      }
      if ((await Notification.requestPermission()) !== 'granted') return;
      const sub = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: bytes(key),
      });
      const res = await post({
        area,
        lang: navigator.language.startsWith('ko') ? 'ko' : 'en',
        subscription: sub.toJSON(),
      });
      if (!res.ok) {
        await sub.unsubscribe();
        throw new Error(`HTTP ${res.status}`);
      }
      button.textContent = labels.off;
    } catch {
      button.textContent = labels.failed;
    } finally {
      button.disabled = false;
    }
  });
  show().catch(() => undefined);
})();
