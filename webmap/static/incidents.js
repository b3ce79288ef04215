// Incident pages: picking a point on the map, the report form with its duplicate check, popups
// with the history, and the forms of the incident page. Text from the server is always put in
// with textContent, never as HTML.
(function () {
  'use strict';

  const el = window.slxEl;

  const api = window.slxApi;

  function when(iso) { return (iso || '').slice(0, 16).replace('T', ' '); }

  function showError(box, message) {
    box.textContent = message;
    box.hidden = !message;
  }

  function popupFor(id, opts) {
    const box = el('div', {class: 'incident-popup'}, '加载中…');
    api('/api/incidents/' + id).then(function (item) {
      box.textContent = '';
      const state = el('span', {class: 'state', style: 'background:' + opts.colours[item.state] +
                                ';color:' + ((opts.inks || {})[item.state] || '#fff')},
                       opts.states[item.state] || item.state);
      box.append(el('b', {}, '#' + item.id + ' ' + item.category), ' ', state);
      if (item.overdue) box.append(' ', el('span', {class: 'badge-overdue'}, '超期'));
      box.append(el('p', {class: 'text'}, item.description));
      const history = el('ol', {class: 'history'});
      for (const e of item.events) {
        history.append(el('li', {}, when(e.at) + ' ' + e.actor + '：' +
                          (opts.states[e.to_state] || e.to_state) + (e.note ? ' — ' + e.note : '')));
      }
      box.append(history, el('a', {href: '/incidents/' + item.id}, '详情与办理 →'));
    }).catch(function (err) { box.textContent = '无法加载：' + err.message; });
    return box;
  }

  window.setupIncidentMap = function (map, layer, opts) {
    layer.eachLayer(function (marker) {
      marker.bindPopup(function () { return popupFor(marker.feature.properties.id, opts); },
                       {maxWidth: 320, minWidth: 220, autoPanPadding: [16, 16]});
    });
    const wanted = location.hash.match(/^#incident-(\d+)$/);
    function focus() {
      layer.eachLayer(function (marker) {
        if (String(marker.feature.properties.id) !== wanted[1]) return;
        // zoomed past the clustering threshold the marker stands alone; a clustered marker
        // joins the map only once its cluster has split
        if (!marker._map) marker.once('add', function () { marker.openPopup(); });
        // where clusters split (so the marker stands alone), with the streets around in view
        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 18), {animate: false});
        if (marker._map) marker.openPopup();
      });
    }
    if (wanted) {
      // after the rest of the map script, and after its fit-to-bounds zoom has finished
      // (a view set during that animation is undone when it ends)
      setTimeout(function () {
        if (map._animatingZoom) map.once('zoomend', function () { setTimeout(focus, 0); });
        else focus();
      }, 0);
    }

    const form = document.getElementById('report-form');
    if (!form) return;
    // back from a report: say it was saved (the page reloads onto it)
    const saved = new URLSearchParams(location.search).get('saved');
    if (saved) {
      const note = document.getElementById('saved-note');
      note.textContent = '已保存：事件 #' + saved + '，已在地图上标出。';
      note.hidden = false;
    }
    const errorBox = document.getElementById('form-error');
    const dupBox = document.getElementById('duplicates');
    let pickedMarker = null, confirmed = false, linkTo = null;

    function pick(lon, lat, system, latlng) {
      form.elements.lon.value = lon.toFixed(7);
      form.elements.lat.value = lat.toFixed(7);
      form.elements.coord_system.value = system;
      document.getElementById('picked').textContent =
        lon.toFixed(6) + ', ' + lat.toFixed(6) + (system === 'gcj02' ? '（GCJ-02）' : '');
      if (pickedMarker) pickedMarker.setLatLng(latlng);
      else pickedMarker = L.circleMarker(latlng, {radius: 10, color: '#000', weight: 3,
                                                  dashArray: '4 3', fillOpacity: 0}).addTo(map);
      confirmed = false; linkTo = null; dupBox.hidden = true;
    }

    // A click on a Gaode (GCJ-02) base map yields GCJ-02 coordinates: the server shifts them.
    map.on('click', function (e) {
      pick(e.latlng.lng, e.latlng.lat, opts.gcj02 ? 'gcj02' : 'wgs84', e.latlng);
    });
    document.getElementById('locate').addEventListener('click', function () {
      if (!navigator.geolocation) { showError(errorBox, '此浏览器不支持定位'); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        const latlng = L.latLng(p.coords.latitude, p.coords.longitude);
        pick(p.coords.longitude, p.coords.latitude, 'wgs84', latlng);  // devices report WGS 84
        map.setView(latlng, 18);
      }, function (err) { showError(errorBox, '无法获取定位：' + err.message); });
    });

    function showDuplicates(list) {
      const ul = dupBox.querySelector('ul');
      ul.textContent = '';
      for (const item of list) {
        const link = el('button', {type: 'button', 'data-id': item.id}, '关联为重复');
        link.addEventListener('click', function () { linkTo = item.id; submit(); });
        ul.append(el('li', {}, '#' + item.id + ' ' + item.description + '（' +
                        Math.round(item.distance_m) + ' 米） ', link));
      }
      dupBox.hidden = false;
    }
    document.getElementById('save-anyway').addEventListener('click', function () {
      confirmed = true; submit();
    });

    async function submit() {
      showError(errorBox, '');
      const f = form.elements;
      if (!f.lon.value) { showError(errorBox, '请先在地图上点击选择位置'); return; }
      const data = {lon: Number(f.lon.value), lat: Number(f.lat.value),
                    coord_system: f.coord_system.value, category: f.category.value,
                    description: f.description.value,
                    household_code: f.household_code.value || null};
      try {
        if (!confirmed && linkTo === null) {
          const q = new URLSearchParams({lon: data.lon, lat: data.lat, category: data.category,
                                         coord_system: data.coord_system});
          const near = await api('/api/incidents/nearby?' + q);
          if (near.incidents.length) { showDuplicates(near.incidents); return; }
        }
        if (linkTo !== null) data.duplicate_of = linkTo;
        const created = await api('/api/incidents', {
          method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify(data)});
        const file = f.photo.files[0];
        if (file) {
          const body = new FormData();
          body.append('photo', file);
          await api('/api/incidents/' + created.id + '/photos', {method: 'POST', body: body});
        }
        // a new query string makes a real navigation (a changed hash alone would not reload)
        const params = new URLSearchParams(location.search);
        params.set('saved', created.id);
        location.assign(location.pathname + '?' + params + '#incident-' + created.id);
      } catch (err) {
        showError(errorBox, err.message);
      }
    }
    form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
  };

  function setupIncidentPage(page) {
    const id = page.dataset.id;
    const form = document.getElementById('transition-form');
    if (form) {
      const errorBox = form.querySelector('.error');
      const sync = function () {
        form.querySelectorAll('[data-for]').forEach(function (row) {
          row.hidden = row.dataset.for !== form.elements.to.value;
        });
      };
      form.elements.to.addEventListener('change', sync);
      sync();
      form.addEventListener('submit', async function (e) {
        e.preventDefault();
        const f = form.elements;
        const data = {to: f.to.value, note: f.note.value || null,
                      version: Number(page.dataset.version), photos: []};
        if (f.to.value === 'evaluated') data.rating = Number(f.rating.value);
        if (f.to.value === 'duplicate') data.duplicate_of = Number(f.duplicate_of.value);
        if (f.to.value === 'dispatched' && f.assign) {   // "account:name" or "unit:code"
          if (!f.assign.value) {          // no one by default: the dispatcher chooses
            showError(errorBox, '请选择承办人或承办单位');
            return;
          }
          const [kind, value] = f.assign.value.split(/:(.*)/s);
          data[kind === 'account' ? 'assignee' : 'unit'] = value;
        }
        try {
          const file = document.getElementById('t-photo').files[0];
          if (file) {
            const body = new FormData();
            body.append('photo', file);
            const photo = await api('/api/incidents/' + id + '/photos',
                                    {method: 'POST', body: body});
            data.photos.push(photo.id);  // noted in the history; the version is unchanged
          }
          await api('/api/incidents/' + id + '/transitions', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(data)});
          location.reload();
        } catch (err) {
          showError(errorBox, err.message);
        }
      });
    }
    const mediation = document.getElementById('mediation-form');
    if (mediation) {
      mediation.addEventListener('submit', async function (e) {
        e.preventDefault();
        const f = mediation.elements;
        const lines = function (text) {
          return text.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
        };
        const data = {
          parties: lines(f.parties.value), party_branch: f.party_branch.value || null,
          resident_representative: f.resident_representative.value || null,
          lawyer: f.lawyer.value || null, outcome: f.outcome.value || null,
          agreement: f.agreement.checked,
          sessions: lines(f.sessions.value).map(function (line) {
            const [at, ...rest] = line.split(/\s+/);
            return {at: at, note: rest.join(' ')};
          })};
        try {
          await api('/api/incidents/' + id + '/mediation', {
            method: 'PUT', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(data)});
          location.reload();
        } catch (err) {
          showError(mediation.querySelector('.error'), err.message);
        }
      });
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    const page = document.getElementById('incident');
    if (page) setupIncidentPage(page);
  });
})();
