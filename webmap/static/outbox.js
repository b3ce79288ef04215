// The phone's outbox, shared by the grid worker's pages (/field, a household's card): every
// report, visit and patrol is first kept in IndexedDB and sent from there, oldest first, each
// with an Idempotency-Key made when it was saved. Without a signal it waits; a retried send
// never writes twice. Pages register what to draw when the outbox changes (slxOutbox.watch).
(function () {
  'use strict';

  const DB_NAME = 'slx-field', STORE = 'outbox';

  function openDb() {
    return new Promise(function (resolve, reject) {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, {keyPath: 'key'}); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  async function store(mode, work) {
    const db = await openDb();
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = function () { db.close(); resolve(result && result.result); };
      tx.onerror = function () { db.close(); reject(tx.error); };
    });
  }

  const box = {
    put: function (item) { return store('readwrite', function (s) { return s.put(item); }); },
    remove: function (key) { return store('readwrite', function (s) { return s.delete(key); }); },
    all: function () { return store('readonly', function (s) { return s.getAll(); }); },
  };

  function newKey() {
    if (crypto.randomUUID) return 'field-' + crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return 'field-' + Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }

  class Offline extends Error {}

  function csrf() {
    const meta = document.querySelector('meta[name=csrf-token]');
    return meta ? meta.content : '';
  }

  async function send(url, key, body, json) {
    let response;
    try {
      response = await fetch(url, {
        method: 'POST', credentials: 'same-origin', body: body,
        headers: Object.assign({'Idempotency-Key': key, 'X-CSRFToken': csrf()},
                               json ? {'Content-Type': 'application/json'} : {})});
    } catch (e) {
      throw new Offline('无网络');
    }
    let answer = null;
    try { answer = await response.json(); } catch (e) { /* not JSON */ }
    // no answer we can act on: try again later (the key makes the retry safe)
    if (response.status >= 500 || response.status === 429 || response.status === 401 ||
        (answer && answer.code === 'offline')) {
      throw new Offline(response.status === 401 ? '登录已过期，请重新登录' :
                        (answer && answer.error) || '服务器暂时无法处理');
    }
    if (!response.ok) {
      const err = new Error((answer && answer.error) || response.statusText);
      err.refused = true;
      throw err;
    }
    return answer;
  }

  async function sendPhoto(item, incident) {
    const form = new FormData();
    form.append('photo', item.photo, item.photoName || 'photo.jpg');
    await send('/api/incidents/' + incident + '/photos', item.key + '-photo', form);
  }

  // what a sent item says (toast)
  const SENT = {
    patrol: function (item, answer) { return '巡查已上传：步行 ' + Math.round(answer.distance_m) + ' 米'; },
    visit: function (item, answer) {
      return '走访已记录：' + item.body.household_code +
        (answer.incident_id ? '，跟进事件 #' + answer.incident_id : '');
    },
    report: function (item) { return '已发送：事件 #' + item.incident + (item.photo ? '（含照片）' : ''); },
  };

  async function sendOne(item) {
    if (item.kind === 'patrol') {
      return send('/api/patrols', item.key, JSON.stringify(item.body), true);
    }
    if (item.kind === 'visit') {
      if (!item.answer) {
        item.answer = await send('/api/visits', item.key, JSON.stringify(item.body), true);
        await box.put(item);
      }
      if (item.photo && item.answer.incident_id && !item.photoSent) {
        await sendPhoto(item, item.answer.incident_id);
        item.photoSent = true;
        await box.put(item);
      }
      return item.answer;
    }
    if (!item.incident) {            // a report
      const made = await send('/api/incidents', item.key, JSON.stringify(item.body), true);
      item.incident = made.id;
      item.sentAt = made;
      await box.put(item);
    }
    if (item.photo && !item.photoSent) {
      await sendPhoto(item, item.incident);
      item.photoSent = true;
      await box.put(item);
    }
    return {id: item.incident};
  }

  const state = {offline: null, watchers: [], sent: []};
  let flushing = null;

  async function flushOnce() {
    const items = (await box.all()).sort(function (a, b) { return a.saved - b.saved; });
    let count = 0;
    for (const item of items) {
      if (item.refused) continue;          // kept for the worker to read and remove
      try {
        const answer = await sendOne(item);
        await box.remove(item.key);
        count += 1;
        state.sent.push(Object.assign({}, item, {answer: answer}));
        notify('sent', (SENT[item.kind] || SENT.report)(item, answer), 'ok', item);
      } catch (err) {
        if (err instanceof Offline) { state.offline = err.message; break; }
        item.refused = err.message;
        await box.put(item);
        notify('refused', '服务器拒收一条记录：' + err.message, 'error', item);
      }
    }
    if (count) state.offline = null;
    await changed();
    return count;
  }

  function notify(what, message, kind, item) {
    for (const w of state.watchers) if (w.message) w.message(message, kind, what, item);
  }

  async function changed() {
    const items = await box.all();
    for (const w of state.watchers) if (w.changed) w.changed(items, state);
  }

  function flush() {
    // one flush at a time; a request during one runs after it
    flushing = (flushing || Promise.resolve()).then(flushOnce, flushOnce)
      .finally(function () { flushing = null; });
    return flushing;
  }

  window.slxOutbox = {
    put: async function (item) { await box.put(item); await changed(); },
    remove: async function (key) { await box.remove(key); await changed(); },
    all: box.all, flush: flush, newKey: newKey, state: state,
    // {message(text, kind, what, item), changed(items, state)}
    watch: function (watcher) { state.watchers.push(watcher); changed(); },
  };

  window.addEventListener('online', function () { flush(); });
  setInterval(function () { if (navigator.onLine) flush(); }, 30000);
  document.addEventListener('DOMContentLoaded', function () { if (navigator.onLine) flush(); });
})();
