// The grid worker app's service worker (rendered by webmap/views/field.py). It keeps the field
// page and every script, style and icon the worker's pages load, so that they open without a
// signal; the task list, the incident pages of open tasks, the cards of households due a visit
// and the road tiles of the worker's grids are kept as they are seen, and packed on purpose
// when /field asks (a message with their URLs): the first offline visit already has them.
// Writes are never touched here: the pages keep unsent reports and visits in IndexedDB and
// send them themselves (static/outbox.js).
'use strict';
const VERSION = {{ version | tojson }};      // changes whenever one of our assets changes
const SHELL = '/field';
const CACHE = 'slx-shell-' + VERSION;
const DATA = 'slx-data';                      // tiles and task lists, newest kept
const DATA_MAX = 2500;
const OWN = {{ assets | tojson }};           // our scripts and styles, whichever page uses them
// pages and answers kept as seen (network first, the kept copy without a signal)
const KEPT = [/^\/tasks$/, /^\/incidents\/\d+$/, /^\/households\/[^/]+$/, /^\/api\/tasks/,
              /^\/api\/visits\/due/, /^\/tiles\//];

async function fillShell() {
  const cache = await caches.open(CACHE);
  const page = await fetch(SHELL, {credentials: 'same-origin', cache: 'no-store'});
  // a redirect means no session (the login page): nothing to keep yet
  if (!page.ok || page.redirected) return;
  const html = await page.clone().text();
  await cache.put(SHELL, page);
  const assets = new Set(OWN);
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
  } else if (KEPT.some(function (re) { return re.test(url.pathname); })) {
    event.respondWith(networkFirst(request, DATA));
  }
});

// /field asks for what the worker's day needs offline: fetched and kept now, reported back
async function pack(urls) {
  const cache = await caches.open(DATA);
  let kept = 0, failed = 0;
  for (let i = 0; i < urls.length; i += 6) {         // a few at a time
    await Promise.all(urls.slice(i, i + 6).map(async function (u) {
      try {
        const response = await fetch(u, {credentials: 'same-origin'});
        if (response.ok && !response.redirected) { await cache.put(u, response); kept += 1; }
        else failed += 1;
      } catch (e) { failed += 1; }
    }));
  }
  await trim(cache);
  return {kept: kept, failed: failed};
}

self.addEventListener('message', function (event) {
  if (!event.data || !event.data.pack) return;
  event.waitUntil(pack(event.data.pack).then(function (done) {
    event.source.postMessage({packed: done, at: Date.now()});
  }));
});
