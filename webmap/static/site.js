// Switch base maps as soon as one is chosen; the button stays for browsers without scripts.
document.querySelectorAll('form.basemap select').forEach(function (select) {
  select.addEventListener('change', function () { select.form.submit(); });
});

// Phones: the header's links, account and base map fold behind the 菜单 button (site.css).
document.querySelectorAll('.menu-toggle').forEach(function (button) {
  const bar = button.closest('.topbar');
  const set = function (open) {
    bar.classList.toggle('menu-open', open);
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', function () { set(!bar.classList.contains('menu-open')); });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') set(false); });
});

// The search box: /api/search within what the account reads, suggested while typing (after a
// pause, from one Chinese character or two letters). A hit flies the page's map to it (with a
// marker); on a page without a map it opens the place: a household's card for grid staff, the
// incident's page, or the map at the place. Server text goes in with textContent only.
(function () {
  'use strict';
  const form = document.getElementById('search-form');
  if (!form) return;
  const list = document.getElementById('search-results');
  const cards = document.body.dataset.cards === '1';      // may open households' cards
  let marker = null;
  function open(hit) {
    if (hit.kind === 'incident') {
      window.location.href = '/incidents/' + encodeURIComponent(hit.code);
    } else if (hit.kind === 'household' && hit.card) {
      window.location.href = '/households/' + encodeURIComponent(hit.code);
    } else {
      window.location.href = (cards ? '/field' : '/') + '?at=' + hit.lon.toFixed(7) + ',' +
        hit.lat.toFixed(7);
    }
  }
  function fly(hit) {
    const map = window.slxMap;
    if (!map || hit.kind === 'incident') { open(hit); return; }
    const at = [hit.lat, hit.lon];
    map.flyTo(at, Math.max(map.getZoom(), 18));
    if (marker) marker.setLatLng(at);
    else marker = L.circleMarker(at, {radius: 12, color: '#6a1b9a', weight: 3, fill: false})
      .addTo(map);
    list.textContent = '';
  }
  let asked = 0;
  async function search(q) {
    const mine = ++asked;
    list.textContent = '搜索中…';
    try {
      const params = new URLSearchParams({q: q});
      if (window.slxMapGcj02 && window.slxMap) params.set('coord_system', 'gcj02');
      const answer = await window.slxApi('/api/search?' + params.toString());
      if (mine !== asked) return;                       // a newer question is on its way
      list.textContent = '';
      if (!answer.results.length) { list.textContent = '没有找到'; return; }
      for (const hit of answer.results) {
        const item = window.slxEl('li', {}, window.slxEl('button', {type: 'button'},
          hit.kind_label + '：' + hit.label));
        item.firstChild.addEventListener('click', function () { fly(hit); });
        list.append(item);
      }
    } catch (err) {
      if (mine === asked) list.textContent = '搜索失败：' + err.message;
    }
  }
  function enough(q) {        // one Chinese character says something; one letter does not
    return /[\u3400-\u9fff]/.test(q) || q.length >= 2;
  }
  let pause = null;
  form.elements.q.addEventListener('input', function () {
    clearTimeout(pause);
    const q = form.elements.q.value.trim();
    if (!enough(q)) { list.textContent = ''; return; }
    pause = setTimeout(function () { search(q); }, 300);
  });
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    clearTimeout(pause);
    const q = form.elements.q.value.trim();
    if (q) search(q);
  });
})();

// ?at=lon,lat on a map page: the map opens there, the place ringed (from the search box)
(function () {
  const raw = new URLSearchParams(window.location.search).get('at');
  const map = window.slxMap;
  if (!raw || !map || document.body.classList.contains('field')) return;
  const [lon, lat] = raw.split(',').map(Number);
  if (!isFinite(lon) || !isFinite(lat)) return;
  map.setView([lat, lon], 18);
  L.circleMarker([lat, lon], {radius: 14, color: '#6a1b9a', weight: 3, fill: false,
                              className: 'looked-at'}).addTo(map);
})();

// /field's header buttons unfold what they name (the households due a visit, the search box),
// so that the map keeps the screen until then
[['due-toggle', 'due-list'], ['search-toggle', 'search-form']].forEach(function ([b, t]) {
  const toggle = document.getElementById(b);
  const target = document.getElementById(t);
  if (!toggle || !target) return;
  toggle.addEventListener('click', function () {
    target.hidden = !target.hidden;
    toggle.setAttribute('aria-expanded', String(!target.hidden));
    if (!target.hidden && target.elements) target.elements.q.focus();
  });
});

// The print view: its button (no inline handlers: the Content Security Policy forbids them);
// the legend moved off the map into the sheet's own column (beside a landscape map, under a
// portrait one), then the map refitted to its subject so that the sheet is centred on it
(function () {
  const button = document.getElementById('print-button');
  if (button) button.addEventListener('click', function () { window.print(); });
  const sheet = document.getElementById('print-sheet');
  const column = document.getElementById('print-legend');
  if (!sheet || !column || !window.slxMap) return;
  document.querySelectorAll('.map-legend').forEach(function (legend) {
    // paper does not fold: each <details> becomes a plain block that may flow in columns
    legend.querySelectorAll('details').forEach(function (d) {
      const body = document.createElement('div');
      body.className = 'legend-body';
      for (const child of Array.from(d.childNodes)) {
        if (child.nodeName === 'SUMMARY') {
          const title = document.createElement('div');
          title.className = child.className || 'legend-title';
          title.textContent = child.textContent;
          body.append(title);
        } else {
          body.append(child);
        }
      }
      d.replaceWith(body);
    });
    column.append(legend);
  });
  const b = sheet.dataset.bbox.split(',').map(Number);
  function fit() {
    window.slxMap.invalidateSize({animate: false});
    window.slxMap.fitBounds([[b[1], b[0]], [b[3], b[2]]], {padding: [12, 12], animate: false});
  }
  fit();
  window.addEventListener('beforeprint', fit);
  window.addEventListener('afterprint', fit);
})();

// Phones: the map keeps the screen. The layer list and the legend start folded (their toggle
// and their "图例" heading stay); a tap on the toggle unfolds the list, a tap elsewhere folds it.
(function () {
  if (!window.matchMedia('(max-width: 600px)').matches) return;
  document.querySelectorAll('.map-legend details[open]').forEach(function (d) { d.open = false; });
  document.querySelectorAll('.leaflet-control-layers-expanded').forEach(function (control) {
    control.classList.remove('leaflet-control-layers-expanded');
    const toggle = control.querySelector('.leaflet-control-layers-toggle');
    if (!toggle) return;
    toggle.setAttribute('aria-label', '图层');
    toggle.addEventListener('click', function (e) {
      e.preventDefault();
      e.stopPropagation();
      control.classList.add('leaflet-control-layers-expanded');
    });
    document.addEventListener('click', function (e) {
      if (!control.contains(e.target)) control.classList.remove('leaflet-control-layers-expanded');
    });
  });
})();

// How old the data packed for offline use is (on the grid worker's pages)
window.slxShowPackedAge = function () {
  const box = document.getElementById('packed-age');
  const at = Number(localStorage.getItem('slx-packed-at') || 0);
  if (!box || !at) return;
  const minutes = Math.max(0, Math.round((Date.now() - at) / 60000));
  box.textContent = '离线数据：' + (minutes < 1 ? '刚刚' : minutes < 60 ? minutes + ' 分钟前' :
    minutes < 1440 ? Math.round(minutes / 60) + ' 小时前' : Math.round(minutes / 1440) + ' 天前') +
    '打包' + (navigator.onLine ? '' : '（当前无网络，显示的是本机保存的内容）');
  box.hidden = false;
};
window.slxShowPackedAge();
window.addEventListener('online', window.slxShowPackedAge);
window.addEventListener('offline', window.slxShowPackedAge);

// Grid labels never cover each other: after each move or zoom, a label that would overlap one
// already shown (in the map's order, the first grids first) waits until there is room for it
(function () {
  const map = window.slxMap;
  if (!map) return;
  function overlap(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function declutter() {
    const shown = [];
    map.getContainer().querySelectorAll('.grid-label').forEach(function (label) {
      label.style.visibility = '';
      const box = label.getBoundingClientRect();
      if (!box.width) return;
      if (shown.some(function (other) { return overlap(box, other); })) {
        label.style.visibility = 'hidden';
        label.classList.add('decluttered');
      } else {
        label.classList.remove('decluttered');
        shown.push(box);
      }
    });
  }
  map.on('zoomend moveend', function () { setTimeout(declutter, 0); });
  setTimeout(declutter, 0);
  window.slxDeclutter = declutter;
})();

// Leaflet's controls speak English ("Zoom in", "Layers") in their tooltips and to screen
// readers: said in Chinese like every other word on the page
(function () {
  const WORDS = {'.leaflet-control-zoom-in': '放大', '.leaflet-control-zoom-out': '缩小',
                 '.leaflet-control-layers-toggle': '图层', '.leaflet-popup-close-button': '关闭'};
  function say() {
    for (const [selector, word] of Object.entries(WORDS)) {
      document.querySelectorAll(selector).forEach(function (e) {
        e.title = word;
        e.setAttribute('aria-label', word);
      });
    }
  }
  say();
  document.addEventListener('DOMContentLoaded', say);
  if (window.slxMap) window.slxMap.on('popupopen', say);
})();
