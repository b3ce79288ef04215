// The grid worker's phone page (/field): pick a point (a tap, or the phone's position with its
// accuracy), fill the bottom sheet, save. Every report goes first into an outbox in IndexedDB
// and is sent from there, with an Idempotency-Key made when it was saved: a report made without
// a signal waits on the phone, and a retried send never makes a second incident. Server text
// goes in with textContent only.
(function () {
  'use strict';

  const el = function (...args) { return window.slxEl(...args); };

  const outbox = window.slxOutbox;
  const newKey = outbox.newKey;
  const flush = outbox.flush;
  window.slxFlushOutbox = flush;

  // ---- what the worker sees ----
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

  function describe(item) {
    if (item.kind === 'patrol') return '巡查轨迹（' + item.body.points.length + ' 个定位点）';
    if (item.kind === 'visit') return '走访 ' + item.body.household_code;
    return item.body.description.slice(0, 30) + (item.photo ? '（含照片）' : '');
  }

  function showOutbox(items, state) {
    const list = document.getElementById('outbox-list');
    const line = document.getElementById('outbox-status');
    if (!list) return;
    list.textContent = '';
    const waiting = items.filter(function (i) { return !i.refused; }).length;
    line.textContent = waiting ? '待发送 ' + waiting + ' 条' +
      (state.offline ? '（' + state.offline + '，恢复后自动发送）' : '') : '';
    line.dataset.waiting = String(waiting);
    for (const item of items) {
      const li = el('li', {class: item.refused ? 'refused' : 'waiting'}, describe(item));
      if (item.refused) {
        const drop = el('button', {type: 'button', class: 'secondary'}, '删除');
        drop.addEventListener('click', function () { outbox.remove(item.key); });
        li.append(el('span', {class: 'error'}, ' 未被接受：' + item.refused), ' ', drop);
      }
      list.append(li);
    }
  }

  // the phone's own reports on the map at once: waiting ones dashed, sent ones solid
  function drawMine(map, layer, items, state) {
    layer.clearLayers();
    const shown = items.filter(function (i) { return !i.kind || i.kind === 'report'; })
      .map(function (i) { return [i, !i.refused && !i.incident ? 'waiting' : i.refused ? 'refused' : 'sending']; })
      .concat(state.sent.filter(function (i) { return !i.kind || i.kind === 'report'; })
        .map(function (i) { return [i, 'sent']; }));
    for (const [item, how] of shown) {
      if (!item.body || item.body.lat === undefined) continue;
      const at = L.latLng(item.body.lat, item.body.lon);
      const label = how === 'sent' ? '#' + item.incident + ' 已上报' :
        how === 'refused' ? '未被接受' : '待发送';
      L.circleMarker(at, {radius: 9, weight: 3, color: how === 'sent' ? '#e53935' : '#ef6c00',
                          dashArray: how === 'sent' ? null : '3 3', fillColor: '#fff',
                          fillOpacity: 0.9, className: 'mine-' + how})
        .bindTooltip(label, {direction: 'top'}).addTo(layer);
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

  // why the phone gave no position, in words a worker can act on
  function locationError(err) {
    if (err.code === 1) return '无法定位：没有定位权限，请在浏览器或系统设置里允许本网站使用位置';
    if (err.code === 3) return '定位超时：信号弱，请到开阔处再试';
    return '无法定位：本机暂时无法确定位置（请打开 GPS 或到开阔处）';
  }

  // the worker's own position: a dot and its accuracy circle
  function positionMarker(map) {
    let dot = null, ring = null;
    return function (p) {
      const at = L.latLng(p.coords.latitude, p.coords.longitude);
      if (!dot) {
        ring = L.circle(at, {radius: p.coords.accuracy, weight: 1, color: '#1e88e5',
                             fillOpacity: 0.12, interactive: false}).addTo(map);
        dot = L.circleMarker(at, {radius: 8, weight: 3, color: '#fff', fillColor: '#1e88e5',
                                  fillOpacity: 1, interactive: false,
                                  className: 'my-position'}).addTo(map);
      } else {
        dot.setLatLng(at);
        ring.setLatLng(at).setRadius(p.coords.accuracy);
      }
      return at;
    };
  }

  function setupPatrol(map) {
    const button = document.getElementById('patrol');
    if (!button) return;
    let watch = null, fixes = [], line = null;
    const showMe = positionMarker(map);
    function metres(a, b) {
      return L.latLng(a.lat, a.lon).distanceTo(L.latLng(b.lat, b.lon));
    }
    function keep(p) {
      map.panTo(showMe(p), {animate: true});      // the map follows the walk
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
          toast(locationError(err), 'error');
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
          const here = el('button', {type: 'button', class: 'report-here'}, '在此上报新事件');
          here.addEventListener('click', function () {
            map.closePopup();
            window.slxPick(layer.getLatLng());
          });
          return el('div', {class: 'incident-popup'}, el('b', {}, '#' + p.id + ' ' + p.category),
                    ' ', opts.states[p.state] || p.state, el('br'),
                    el('a', {href: '/incidents/' + p.id, class: 'popup-link'}, '详情与办理 →'),
                    el('br'), here);
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

    const system = opts.gcj02 ? 'gcj02' : 'wgs84';
    window.slxPick = function (latlng) { pick(latlng, system, null); };
    map.on('click', function (e) { pick(e.latlng, system, null); });
    map.on('contextmenu', function (e) { pick(e.latlng, system, null); });   // a long press
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
        toast(locationError(err), 'error');
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
      item.kind = 'report';
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
      if (!sent && outbox.state.offline) {
        toast('已保存在本机：' + outbox.state.offline + '，恢复后自动发送', 'warn');
      }
    });

    setupPatrol(map);
    const mine = L.layerGroup().addTo(map);
    outbox.watch({
      message: toast,
      changed: function (items, state) { showOutbox(items, state); drawMine(map, mine, items, state); },
    });
    if (navigator.onLine) flush();
    if (opts.at) {                       // /field?at=lon,lat: a place to look at (search, cards)
      map.setView(L.latLng(opts.at[1], opts.at[0]), 18);
      L.circleMarker(L.latLng(opts.at[1], opts.at[0]), {radius: 14, color: '#6a1b9a', weight: 3,
                                                        fill: false, className: 'looked-at'}).addTo(map);
    }

    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(function () {
        return packForOffline(opts);
      }).catch(function (err) {
        console.warn('service worker', err);
      });
    }
  };

  // ---- the worker's day packed for offline use: the task lists, the pages of the open
  // incidents on the map, the cards of the households due a visit, and the road tiles of the
  // worker's grids at the zooms they work at ----
  const PACK_EVERY_MS = 30 * 60 * 1000, PACK_ZOOMS = [14, 15, 16, 17, 18], MAX_TILES = 1500;

  function tileRange(bounds, z) {
    const n = Math.pow(2, z);
    const x = function (lon) { return Math.floor((lon + 180) / 360 * n); };
    const y = function (lat) {
      const r = lat * Math.PI / 180;
      return Math.floor((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2 * n);
    };
    return {x0: x(bounds.getWest()), x1: x(bounds.getEast()),
            y0: y(bounds.getNorth()), y1: y(bounds.getSouth())};
  }

  function roadTiles(opts) {
    if (!opts.mine.features.length) return [];
    const bounds = L.geoJSON(opts.mine).getBounds();
    const urls = [];
    for (const z of PACK_ZOOMS) {
      const r = tileRange(bounds, z);
      const count = (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
      if (urls.length + count > MAX_TILES) break;          // a whole district: fewer zooms
      for (let x = r.x0; x <= r.x1; x++) {
        for (let y = r.y0; y <= r.y1; y++) {
          urls.push('/tiles/roads/' + z + '/' + x + '/' + y + '.mvt' + (opts.gcj02 ? '?gcj02=1' : ''));
        }
      }
    }
    return urls;
  }

  async function packForOffline(opts, force) {
    const last = Number(localStorage.getItem('slx-packed-at') || 0);
    if (!navigator.onLine || (!force && Date.now() - last < PACK_EVERY_MS)) return;
    const registration = await navigator.serviceWorker.ready;
    const urls = ['/field', '/tasks', '/tasks?mine=1', '/api/tasks?mine=true',
                  '/api/tasks?mine=false', '/api/visits/due'];
    for (const f of opts.tasks.features) urls.push('/incidents/' + f.properties.id);
    document.querySelectorAll('#due-list a[href^="/households/"]').forEach(function (a) {
      urls.push(a.getAttribute('href'));
    });
    urls.push(...roadTiles(opts));
    navigator.serviceWorker.addEventListener('message', function done(event) {
      if (!event.data || !event.data.packed) return;
      navigator.serviceWorker.removeEventListener('message', done);
      localStorage.setItem('slx-packed-at', String(event.data.at));
      window.slxShowPackedAge();
    });
    registration.active.postMessage({pack: urls});
  }
  window.slxPackForOffline = packForOffline;
})();
