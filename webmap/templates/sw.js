// The grid worker app's service worker (rendered by webmap/views/field.py). It keeps the field
// page and every script, style and icon it loads, so that the page opens without a signal; road
// tiles and task lists seen online are kept for offline use too. Writes are never touched here:
// the page keeps unsent reports in IndexedDB and sends them itself (static/field.js).
'use strict';
const VERSION = {{ version | tojson }};      // changes whenever one of our assets changes
const SHELL = '/field';
const CACHE = 'slx-shell-' + VERSION;
const DATA = 'slx-data';                      // tiles and task lists, newest kept
const DATA_MAX = 600;

async function fillShell() {
  const cache = await caches.open(CACHE);
  const page = await fetch(SHELL, {credentials: 'same-origin', cache: 'no-store'});
  // a redirect means no session (the login page): nothing to keep yet
  if (!page.ok || page.redirected) return;
  const html = await page.clone().text();
  await cache.put(SHELL, page);
  const assets = new Set(['{{ url_for("static", filename="icon.svg") }}']);
  for (const m of html.matchAll(/(?:src|href)="(\/(?:static|vendor)\/[^"]+)"/g)) {
    assets.add(m[1].replace(/&amp;/g, '&'));
  }
  await cache.addAll([...assets]);
}

self.addEventListener('install', function (event) {
  event.waitUntil(fillShell().then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil((async function () {
    for (const key of await caches.keys()) {
      if (key.startsWith('slx-shell-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

async function trim(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - DATA_MAX))) await cache.delete(key);
}

async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(key || request, response.clone());
      if (cacheName === DATA) trim(cache);
    }
    return response;
  } catch (offline) {
    const kept = await cache.match(key || request);
    if (kept) return kept;
    return new Response(JSON.stringify({error: '无网络，且本机没有保存此内容', code: 'offline'}),
                        {status: 503, headers: {'Content-Type': 'application/json'}});
  }
}

async function cacheFirst(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) (await caches.open(CACHE)).put(request, response.clone());
  return response;
}

self.addEventListener('fetch', function (event) {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;       // base-map tiles: the browser's cache
  if (url.pathname.startsWith('/static/') || url.pathname.startsWith('/vendor/')) {
    event.respondWith(cacheFirst(request));               // versioned URLs: never change
  } else if (url.pathname === SHELL) {
    event.respondWith(networkFirst(request, CACHE, SHELL));
  } else if (url.pathname.startsWith('/tiles/') || url.pathname.startsWith('/api/tasks')) {
    event.respondWith(networkFirst(request, DATA));
  }
});
