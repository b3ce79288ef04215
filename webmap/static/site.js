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
