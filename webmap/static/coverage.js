// Coverage page: a click on the map asks what a facility there would add (what-if); the siting
// form asks for the best new sites. Server text goes in with textContent only.
(function () {
  'use strict';

  const el = window.slxEl;

  // the form's values as the what-if body wants them: budgets a list of numbers, speed and cap
  // numbers, kinds text
  function params() {
    const form = document.getElementById('coverage-form');
    const out = {};
    for (const name of ['kinds', 'minutes', 'speed', 'cap']) {
      const value = form.elements[name] && form.elements[name].value.trim();
      if (!value) continue;
      if (name === 'kinds') out[name] = value;
      else if (name === 'minutes') out[name] = value.split(',').filter(Boolean).map(Number);
      else out[name] = Number(value);
    }
    return out;
  }

  const api = window.slxApi;

  window.setupCoverageMap = function (map, opts) {
    const box = document.getElementById('whatif-result');
    let marker = null, sites = L.layerGroup().addTo(map);
    map.on('click', async function (e) {
      if (marker) marker.setLatLng(e.latlng);
      else marker = L.circleMarker(e.latlng, {radius: 9, color: '#6a1b9a', weight: 3}).addTo(map);
      box.textContent = '计算中…';
      try {
        const result = await api('/api/coverage/whatif', {
          method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify(Object.assign(params(), {
            lon: e.latlng.lng, lat: e.latlng.lat, coord_system: opts.gcj02 ? 'gcj02' : 'wgs84'}))});
        box.textContent = '';
        const labels = Object.keys(result.gains);
        const minutes = function (l) { return l.replace(/^([0-9.]+)min$/, '$1 分钟'); };
        const table = el('table', {class: 'figures wide', id: 'whatif-table'});
        table.append(el('tr', {}, el('th', {}, '网格'), ...labels.map(l => el('td', {}, minutes(l)))));
        // only the grids that gain, by name (a city has thousands that gain nothing)
        for (const [code, name] of Object.entries(result.grid_names)) {
          table.append(el('tr', {'data-grid': code}, el('th', {}, name),
                          ...labels.map(l => el('td', {}, '+' + result.gains[l].grids[code]))));
        }
        table.append(el('tr', {'data-grid': 'total'}, el('th', {}, '合计'),
                        ...labels.map(l => el('td', {}, '+' + result.gains[l].total))));
        box.append(el('p', {class: 'hint'}, '距最近道路 ' + result.site.snapped_to_road_m + ' 米' +
                        (Object.keys(result.grid_names).length ? '' : '；这里不会新增覆盖任何住户')),
                   table);
      } catch (err) {
        box.textContent = '无法计算：' + err.message;
      }
    });

    // numbered badges never sit on each other: one that would is moved aside (and back when
    // the zoom leaves room)
    function spread() {
      const placed = [];
      sites.eachLayer(function (m) {
        const badge = m.getElement();
        if (!badge) return;
        badge.style.marginLeft = '-14px';           // Leaflet's own: the icon centred
        let box = badge.getBoundingClientRect();
        for (let tries = 0; tries < 8 && placed.some(function (o) {
          return box.left < o.right && o.left < box.right && box.top < o.bottom && o.top < box.bottom;
        }); tries++) {
          badge.style.marginLeft = (-14 + 30 * (tries + 1)) + 'px';
          box = badge.getBoundingClientRect();
        }
        placed.push(box);
      });
    }
    map.on('zoomend', spread);

    const form = document.getElementById('siting-form');
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      const list = document.getElementById('siting-result');
      list.textContent = '计算中…';
      const p = params();
      delete p.minutes;
      const q = new URLSearchParams(Object.assign(p, {
        metres: form.elements.budget.value, k: form.elements.k.value,
        method: form.elements.method.value}));
      try {
        const result = await api('/api/coverage/siting?' + q);
        list.textContent = '';
        sites.clearLayers();
        const bounds = [];
        result.sites.forEach(function (s, i) {
          const n = String(i + 1);
          // a numbered badge on the map, its place and gain in the list beside it
          const marker = L.marker([s.lat, s.lon], {
            title: '建议选址 ' + n, keyboard: false,
            icon: L.divIcon({className: 'site-badge', html: '', iconSize: [28, 28]})}).addTo(sites);
          marker.getElement().textContent = n;
          bounds.push([s.lat, s.lon]);
          const go = el('button', {type: 'button', class: 'link'}, '在地图上看');
          go.addEventListener('click', function () { map.setView([s.lat, s.lon], Math.max(map.getZoom(), 17)); });
          list.append(el('li', {'data-site': n}, el('b', {}, s.place), el('br'),
                          '新增覆盖 ' + s.gain + ' 户 ', go));
        });
        if (bounds.length) map.fitBounds(bounds, {padding: [60, 60], maxZoom: 17});
        spread();
        if (!result.sites.length) list.textContent = '没有可增加覆盖的候选位置';
      } catch (err) {
        list.textContent = '无法计算：' + err.message;
      }
    });
  };
})();
