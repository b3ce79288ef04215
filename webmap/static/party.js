// The party network page: a member picked in the tree has their contact households drawn on
// the map (from /api/party/members/<code>): one by one where the reader may see households,
// else their buildings with how many each holds. Server text goes in with textContent only.
(function () {
  'use strict';
  window.setupPartyMap = function (map, opts) {
    const layer = L.layerGroup().addTo(map);
    const status = document.getElementById('member-status');
    document.querySelectorAll('button.member').forEach(function (button) {
      button.addEventListener('click', async function () {
        layer.clearLayers();
        document.querySelectorAll('button.member.current').forEach(function (b) {
          b.classList.remove('current');
        });
        button.classList.add('current');
        status.textContent = '加载中…';
        try {
          const found = await window.slxApi('/api/party/members/' +
                                            encodeURIComponent(button.dataset.member));
          const points = found.households.map(function (h) {
            const marker = L.circleMarker([h.lat, h.lon], {
              radius: 6, weight: 2, color: '#b71c1c',
              fillColor: h.elderly_alone ? '#ffb300' : '#ef5350', fillOpacity: 0.9});
            marker.bindTooltip(h.code + ' ' + h.building + ' ' + h.unit_room +
                               (h.elderly_alone ? '（独居老人）' : ''));
            layer.addLayer(marker);
            return marker.getLatLng();
          });
          const name = button.textContent.trim();
          const total = found.buildings.reduce(function (n, b) { return n + b.households; }, 0);
          if (!points.length) {
            // no doors for this reader: the buildings, each with how many it holds
            found.buildings.forEach(function (b) {
              const badge = L.marker([b.lat, b.lon], {keyboard: false, icon: L.divIcon({
                className: 'building-count', html: '', iconSize: [26, 26]})});
              badge.bindTooltip(b.name + '：联系 ' + b.households + ' 户');
              layer.addLayer(badge);
              badge.getElement().textContent = String(b.households);
              points.push(badge.getLatLng());
            });
          }
          status.textContent = name + '：联系 ' + total + ' 户，在 ' + found.buildings.length + ' 栋楼' +
            (found.households.length ? '（黄色为独居老人户）' : '（每一户的位置仅向本网格人员显示）');
          if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.3));
        } catch (err) {
          status.textContent = '无法显示联系户：' + err.message;
        }
      });
    });
  };
})();
