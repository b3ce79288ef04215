// The grid worker's phone page (/field): pick a point (a tap, or the phone's position with its
// accuracy), fill the bottom sheet, save. Every report goes first into an outbox in IndexedDB
// and is sent from there, with an Idempotency-Key made when it was saved: a report made without
// a signal waits on the phone, and a retried send never makes a second incident. Server text
// goes in with textContent only.
(function () {
  'use strict';

  const el = function (...args) { return window.slxEl(...args); };

  // ---- the outbox: IndexedDB, one record per report (its photo as a Blob) ----
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

  const outbox = {
    put: function (item) { return store('readwrite', function (s) { return s.put(item); }); },
    remove: function (key) { return store('readwrite', function (s) { return s.delete(key); }); },
    all: function () { return store('readonly', function (s) { return s.getAll(); }); },
  };

  function newKey() {
    if (crypto.randomUUID) return 'field-' + crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return 'field-' + Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }

  // ---- sending: one report at a time, oldest first ----
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
      const err = new Offline(response.status === 401 ? '登录已过期，请重新登录' :
                              (answer && answer.error) || '服务器暂时无法处理');
      throw err;
    }
    if (!response.ok) {
      const err = new Error((answer && answer.error) || response.statusText);
      err.refused = true;
      throw err;
    }
    return answer;
  }

  let flushing = null;

  async function flushOnce() {
    const items = (await outbox.all()).sort(function (a, b) { return a.saved - b.saved; });
    let sent = 0;
    for (const item of items) {
      if (item.refused) continue;          // kept for the worker to read and remove
      try {
        if (item.kind === 'patrol') {
          const walked = await send('/api/patrols', item.key, JSON.stringify(item.body), true);
          await outbox.remove(item.key);
          sent += 1;
          toast('巡查已上传：步行 ' + Math.round(walked.distance_m) + ' 米', 'ok');
          continue;
        }
        if (!item.incident) {
          const made = await send('/api/incidents', item.key, JSON.stringify(item.body), true);
          item.incident = made.id;
          await outbox.put(item);
        }
        if (item.photo && !item.photoSent) {
          const form = new FormData();
          form.append('photo', item.photo, item.photoName || 'photo.jpg');
          await send('/api/incidents/' + item.incident + '/photos', item.key + '-photo', form);
          item.photoSent = true;
          await outbox.put(item);
        }
        await outbox.remove(item.key);
        sent += 1;
        toast('已发送：事件 #' + item.incident + (item.photo ? '（含照片）' : ''), 'ok');
      } catch (err) {
        if (err instanceof Offline) { status.offline = err.message; break; }
        item.refused = err.message;
        await outbox.put(item);
        toast('服务器拒收一条上报：' + err.message, 'error');
      }
    }
    if (sent) status.offline = null;
    await showOutbox();
    return sent;
  }

  function flush() {
    // one flush at a time; a request during one runs after it
    flushing = (flushing || Promise.resolve()).then(flushOnce, flushOnce)
      .finally(function () { flushing = null; });
    return flushing;
  }
  window.slxFlushOutbox = flush;

  // ---- what the worker sees ----
  const status = {offline: null};
  let toastTimer = null;

  function toast(message, kind) {
    const box = document.getElementById('toast');
    if (!box) return;
    box.textContent = message;
    box.className = 'toast ' + (kind || '');
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  async function showOutbox() {
    const list = document.getElementById('outbox-list');
    const line = document.getElementById('outbox-status');
    if (!list) return;
    const items = await outbox.all();
    list.textContent = '';
    const waiting = items.filter(function (i) { return !i.refused; }).length;
    line.textContent = waiting ? '待发送 ' + waiting + ' 条' +
      (status.offline ? '（' + status.offline + '，恢复后自动发送）' : '') : '';
    line.dataset.waiting = String(waiting);
    for (const item of items) {
      const li = el('li', {class: item.refused ? 'refused' : 'waiting'}, item.kind === 'patrol'
        ? '巡查轨迹（' + item.body.points.length + ' 个定位点）'
        : item.body.description.slice(0, 30) + (item.photo ? '（含照片）' : ''));
      if (item.refused) {
        const drop = el('button', {type: 'button', class: 'secondary'}, '删除');
        drop.addEventListener('click', async function () {
          await outbox.remove(item.key); showOutbox();
        });
        li.append(el('span', {class: 'error'}, ' 未被接受：' + item.refused), ' ', drop);
      }
      list.append(li);
    }
  }

  // ---- where: a point inside the worker's grids? (ray casting on the grids' rings) ----
  function inRing(x, y, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function inPolygon(x, y, rings) {
    return inRing(x, y, rings[0]) && !rings.slice(1).some(function (r) { return inRing(x, y, r); });
  }

  function gridAt(lon, lat, grids) {
    for (const f of grids.features) {
      const g = f.geometry;
      const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      if (polygons.some(function (p) { return inPolygon(lon, lat, p); })) return f.properties;
    }
    return null;
  }

  // ---- a patrol: the phone's positions while walking, kept every few seconds and metres,
  // saved to the outbox when the walk ends (in parts of at most 5,000 fixes) ----
  const KEEP_S = 3, KEEP_M = 5, PART = 5000;

  function setupPatrol(map) {
    const button = document.getElementById('patrol');
    if (!button) return;
    let watch = null, fixes = [], line = null;
    function metres(a, b) {
      return L.latLng(a.lat, a.lon).distanceTo(L.latLng(b.lat, b.lon));
    }
    function keep(p) {
      const fix = {lon: p.coords.longitude, lat: p.coords.latitude,
                   t: new Date(p.timestamp).toISOString(), accuracy: p.coords.accuracy};
      const last = fixes[fixes.length - 1];
      if (last && ((p.timestamp - Date.parse(last.t)) / 1000 < KEEP_S ||
                   metres(last, fix) < KEEP_M)) return;
      fixes.push(fix);
      line.addLatLng([fix.lat, fix.lon]);
      button.textContent = '结束巡查（' + fixes.length + ' 点）';
    }
    button.addEventListener('click', async function () {
      if (watch === null) {
        if (!navigator.geolocation) { toast('此浏览器不支持定位', 'error'); return; }
        fixes = [];
        line = L.polyline([], {color: '#6a1b9a', weight: 4}).addTo(map);
        watch = navigator.geolocation.watchPosition(keep, function (err) {
          toast('定位中断：' + err.message, 'error');
        }, {enableHighAccuracy: true, maximumAge: 0, timeout: 30000});
        button.setAttribute('aria-pressed', 'true');
        button.textContent = '结束巡查（0 点）';
        toast('巡查开始，请保持本页打开');
        return;
      }
      navigator.geolocation.clearWatch(watch);
      watch = null;
      button.setAttribute('aria-pressed', 'false');
      button.textContent = '开始巡查';
      if (fixes.length < 2) { toast('定位点太少，未保存巡查', 'warn'); return; }
      // parts share their end fix, so that no step of the walk is lost between them
      for (let i = 0; i < fixes.length - 1; i += PART - 1) {
        await outbox.put({key: newKey(), kind: 'patrol', saved: Date.now() + i,
                          body: {points: fixes.slice(i, i + PART)}});
      }
      toast('巡查已保存在本机，正在上传…');
      flush();
    });
  }

  window.setupFieldMap = function (map, opts) {
    // the worker's grids labelled; the open incidents of their grids by state
    L.geoJSON(opts.mine, {interactive: false, style: {opacity: 0, fillOpacity: 0}})
      .eachLayer(function (layer) {
        layer.bindTooltip(layer.feature.properties.name,
                          {permanent: true, direction: 'center', className: 'grid-label'});
      }).addTo(map);
    L.geoJSON(opts.tasks, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {radius: f.properties.overdue ? 9 : 7, weight: f.properties.overdue ? 3 : 1,
                                       color: f.properties.overdue ? '#000' : '#fff',
                                       fillColor: opts.colours[f.properties.state] || '#607d8b',
                                       fillOpacity: 0.9});
      },
      onEachFeature: function (f, layer) {
        const p = f.properties;
        layer.bindPopup(function () {
          return el('div', {class: 'incident-popup'}, el('b', {}, '#' + p.id + ' ' + p.category),
                    ' ', opts.states[p.state] || p.state, el('br'),
                    el('a', {href: '/incidents/' + p.id}, '详情与办理 →'));
        }, {maxWidth: 280, minWidth: 180, autoPanPadding: [20, 20]});
      },
    }).addTo(map);

    const form = document.getElementById('field-form');
    const toggle = document.getElementById('sheet-toggle');
    const warning = document.getElementById('outside-warning');
    const errorBox = document.getElementById('field-error');
    let marker = null, accuracy = null, outside = false;

    function open(yes) {
      form.hidden = !yes;
      toggle.setAttribute('aria-expanded', String(yes));
      document.getElementById('sheet').classList.toggle('open', yes);
      setTimeout(function () { map.invalidateSize(); }, 0);
    }
    toggle.addEventListener('click', function () { open(form.hidden); });
    form.elements.photo.addEventListener('change', function () {
      const file = form.elements.photo.files[0];
      document.getElementById('photo-name').textContent = file ? '已选：' + file.name : '';
    });
    document.getElementById('field-cancel').addEventListener('click', function () { open(false); });

    function pick(latlng, system, metres) {
      const f = form.elements;
      f.lon.value = latlng.lng.toFixed(7);
      f.lat.value = latlng.lat.toFixed(7);
      f.coord_system.value = system;
      // the check against the worker's grids runs on the map's own coordinates
      const grid = gridAt(latlng.lng, latlng.lat, opts.mine);
      outside = !grid;
      warning.textContent = outside ? '这个位置不在您负责的网格内，不能由您上报；请确认位置或联系所在网格。' : '';
      warning.hidden = !outside;
      document.getElementById('picked').textContent = (grid ? grid.name + ' · ' : '') +
        latlng.lng.toFixed(6) + ', ' + latlng.lat.toFixed(6) +
        (metres ? '（定位精度约 ' + Math.round(metres) + ' 米）' : '');
      if (marker) marker.setLatLng(latlng);
      else marker = L.marker(latlng, {keyboard: false, title: '上报位置'}).addTo(map);
      if (accuracy) { accuracy.remove(); accuracy = null; }
      if (metres) {
        accuracy = L.circle(latlng, {radius: metres, weight: 1, color: '#1e88e5',
                                     fillOpacity: 0.1, interactive: false}).addTo(map);
      }
      open(true);
    }

    map.on('click', function (e) { pick(e.latlng, opts.gcj02 ? 'gcj02' : 'wgs84', null); });
    document.getElementById('locate').addEventListener('click', function () {
      if (!navigator.geolocation) { toast('此浏览器不支持定位', 'error'); return; }
      toast('正在定位…');
      navigator.geolocation.getCurrentPosition(function (p) {
        // phones report WGS 84; on a GCJ-02 base map the marker would sit off by ~500 m, so the
        // point is kept in WGS 84 and the map is centred on it as given
        const latlng = L.latLng(p.coords.latitude, p.coords.longitude);
        pick(latlng, 'wgs84', p.coords.accuracy);
        map.setView(latlng, Math.max(map.getZoom(), 17));
      }, function (err) {
        toast('无法获取定位：' + err.message, 'error');
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 30000});
    });

    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      const f = form.elements;
      errorBox.hidden = true;
      if (!f.lon.value) { errorBox.textContent = '请先点地图或“定位”选择位置'; errorBox.hidden = false; return; }
      if (outside) { errorBox.textContent = '位置不在您负责的网格内'; errorBox.hidden = false; return; }
      if (!f.description.value.trim()) { errorBox.textContent = '请填写描述'; errorBox.hidden = false; return; }
      const photo = f.photo.files[0] || null;
      const item = {
        key: newKey(), saved: Date.now(), photo: photo, photoName: photo && photo.name,
        body: {lon: Number(f.lon.value), lat: Number(f.lat.value), coord_system: f.coord_system.value,
               category: f.category.value, description: f.description.value.trim(),
               household_code: f.household_code.value.trim() || null},
      };
      await outbox.put(item);          // on the phone first: nothing is lost if sending fails
      form.reset();
      document.getElementById('photo-name').textContent = '';
      warning.hidden = true;
      if (marker) { marker.remove(); marker = null; }
      if (accuracy) { accuracy.remove(); accuracy = null; }
      document.getElementById('picked').textContent = '点地图选择位置，或点“定位”';
      open(false);
      toast('已保存在本机，正在发送…');
      const sent = await flush();
      if (!sent && status.offline) toast('已保存在本机：' + status.offline + '，恢复后自动发送', 'warn');
    });

    setupPatrol(map);
    window.addEventListener('online', function () { flush(); });
    setInterval(function () { if (navigator.onLine) flush(); }, 30000);
    showOutbox().then(function () { if (navigator.onLine) flush(); });

    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', {scope: '/'}).catch(function (err) {
        console.warn('service worker', err);
      });
    }
  };
})();
