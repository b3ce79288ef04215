// Switch base maps as soon as one is chosen; the button stays for browsers without scripts.
document.querySelectorAll('form.basemap select').forEach(function (select) {
  select.addEventListener('change', function () { select.form.submit(); });
});

// The search box: /api/search within what the account reads; a hit flies the page's map to
// it (with a marker), or opens the incident. Server text goes in with textContent only.
(function () {
  'use strict';
  const form = document.getElementById('search-form');
  if (!form) return;
  const list = document.getElementById('search-results');
  let marker = null;
  function fly(hit) {
    const map = window.slxMap;
    if (hit.kind === 'incident' && (!map || hit.openPage)) {
      window.location.href = '/incidents/' + encodeURIComponent(hit.code);
      return;
    }
    if (!map) return;
    const at = [hit.lat, hit.lon];
    map.flyTo(at, Math.max(map.getZoom(), 18));
    if (marker) marker.setLatLng(at);
    else marker = L.circleMarker(at, {radius: 12, color: '#6a1b9a', weight: 3, fill: false})
      .addTo(map);
    list.textContent = '';
  }
  form.addEventListener('submit', async function (e) {
    e.preventDefault();
    const q = form.elements.q.value.trim();
    if (!q) return;
    list.textContent = '搜索中…';
    try {
      const params = new URLSearchParams({q: q});
      if (window.slxMapGcj02) params.set('coord_system', 'gcj02');
      const answer = await window.slxApi('/api/search?' + params.toString());
      list.textContent = '';
      if (!answer.results.length) { list.textContent = '没有找到'; return; }
      for (const hit of answer.results) {
        const item = window.slxEl('li', {}, window.slxEl('button', {type: 'button'},
          hit.kind_label + '：' + hit.label));
        item.firstChild.addEventListener('click', function () { fly(hit); });
        list.append(item);
      }
    } catch (err) {
      list.textContent = '搜索失败：' + err.message;
    }
  });
})();

// The print view's button (no inline handlers: the Content Security Policy forbids them)
(function () {
  const button = document.getElementById('print-button');
  if (button) button.addEventListener('click', function () { window.print(); });
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
