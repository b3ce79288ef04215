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
        const table = el('table', {class: 'figures wide', id: 'whatif-table'});
        const labels = Object.keys(result.gains);
        table.append(el('tr', {}, el('th', {}, '网格'),
                          ...labels.map(l => el('td', {}, l.replace(/^([0-9.]+)min$/, '$1 分钟')))));
        const grids = Object.keys(result.gains[labels[0]].grids);
        for (const g of grids) {
          table.append(el('tr', {'data-grid': g}, el('th', {}, g.slice(-3)),
                          ...labels.map(l => el('td', {}, '+' + result.gains[l].grids[g]))));
        }
        table.append(el('tr', {'data-grid': 'total'}, el('th', {}, '合计'),
                        ...labels.map(l => el('td', {}, '+' + result.gains[l].total))));
        box.append(el('p', {class: 'hint'}, '距最近道路 ' + result.site.snapped_to_road_m + ' 米'),
                   table);
      } catch (err) {
        box.textContent = '无法计算：' + err.message;
      }
    });

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
        result.sites.forEach(function (s, i) {
          list.append(el('li', {}, '新增覆盖 ' + s.gain + ' 户（' + s.lon.toFixed(5) + ', ' +
                          s.lat.toFixed(5) + '）'));
          L.marker([s.lat, s.lon], {title: '建议选址 ' + (i + 1)})
            .bindTooltip('建议选址 ' + (i + 1) + '：+' + s.gain + ' 户', {permanent: true})
            .addTo(sites);
        });
        if (!result.sites.length) list.textContent = '没有可增加覆盖的候选位置';
      } catch (err) {
        list.textContent = '无法计算：' + err.message;
      }
    });
  };
})();
